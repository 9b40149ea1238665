namespace Kv.Gossip.Membership;

/// <summary>
/// An endpoint's application states: an immutable, small array sorted by key. A node has about ten states,
/// so a linear scan beats a tree, and enumerating it (done for every endpoint in every gossip exchange)
/// allocates nothing. Immutable: "changing" returns a new map.
/// </summary>
public sealed class ApplicationStateMap
{
    private readonly KeyValuePair<ApplicationState, VersionedValue>[] _items;

    public static ApplicationStateMap Empty { get; } = new([]);

    private ApplicationStateMap(KeyValuePair<ApplicationState, VersionedValue>[] items)
    {
        _items = items;
        long max = 0;
        foreach (var kv in items) if (kv.Value.Version > max) max = kv.Value.Version;
        MaxVersion = max;
        Status = TryGetValue(ApplicationState.Status, out var status) ? NodeStatusText.Parse(status.Value) : NodeStatus.Unknown;
    }

    /// <summary>The parsed <see cref="ApplicationState.Status"/> (cached: the gossiper checks it every round for every endpoint).</summary>
    public NodeStatus Status { get; }

    public int Count => _items.Length;

    /// <summary>The highest version of any state (0 when empty).</summary>
    public long MaxVersion { get; }

    public ReadOnlySpan<KeyValuePair<ApplicationState, VersionedValue>> Items => _items;

    public ReadOnlySpan<KeyValuePair<ApplicationState, VersionedValue>>.Enumerator GetEnumerator() => Items.GetEnumerator();

    public bool TryGetValue(ApplicationState key, out VersionedValue value)
    {
        foreach (var kv in _items)
        {
            if (kv.Key == key)
            {
                value = kv.Value;
                return true;
            }
        }
        value = default;
        return false;
    }

    /// <summary>This map with <paramref name="key"/> set to <paramref name="value"/>.</summary>
    public ApplicationStateMap SetItem(ApplicationState key, VersionedValue value)
    {
        var at = 0;
        while (at < _items.Length && _items[at].Key < key) at++;
        var replace = at < _items.Length && _items[at].Key == key;
        var items = new KeyValuePair<ApplicationState, VersionedValue>[replace ? _items.Length : _items.Length + 1];
        _items.AsSpan(0, at).CopyTo(items);
        items[at] = new(key, value);
        _items.AsSpan(replace ? at + 1 : at).CopyTo(items.AsSpan(at + 1));
        return new ApplicationStateMap(items);
    }

    /// <summary>A map of <paramref name="states"/>; for a key given twice, the higher version wins.</summary>
    public static ApplicationStateMap Create(IReadOnlyList<KeyValuePair<ApplicationState, VersionedValue>> states)
    {
        if (states.Count == 0) return Empty;
        var items = new KeyValuePair<ApplicationState, VersionedValue>[states.Count];
        var n = 0;
        for (var i = 0; i < states.Count; i++)
        {
            var kv = states[i];
            // Insertion sort: a handful of items, usually already in key order (that is how they are sent).
            var at = n;
            while (at > 0 && items[at - 1].Key > kv.Key) at--;
            if (at > 0 && items[at - 1].Key == kv.Key)
            {
                if (items[at - 1].Value.Version < kv.Value.Version) items[at - 1] = kv;
                continue;
            }
            Array.Copy(items, at, items, at + 1, n - at);
            items[at] = kv;
            n++;
        }
        if (n != items.Length) Array.Resize(ref items, n);
        return new ApplicationStateMap(items);
    }
}
