using System.Diagnostics.CodeAnalysis;
using Kv.Gossip.Transport;

namespace Kv.Gossip.Ring;

/// <summary>
/// An immutable snapshot of the ring: every token in ascending order and the endpoint that owns it.
/// </summary>
/// <remarks>
/// Threading: immutable after construction, so any number of threads read it without locks; a new
/// membership produces a new snapshot (see <see cref="ClusterRing"/>), which is swapped in atomically.
/// The token space is the whole <c>ulong</c> range. Token <c>t[i]</c> owns the range
/// <c>(t[i-1], t[i]]</c>, and <c>t[0]</c> owns the wrapping range <c>(t[last], ulong.MaxValue] ∪ [0, t[0]]</c>.
/// Endpoints are numbered 0..EndpointCount-1 in the order of <see cref="Endpoints"/> (sorted by address
/// so that equal memberships give equal numbering on every node); replica lists are lists of these indices.
/// </remarks>
public sealed class TokenRing
{
    private readonly ulong[] _tokens;
    private readonly int[] _owners;
    private readonly NodeAddress[] _endpoints;
    private readonly RingMember[] _members;
    private readonly int[] _datacenterOf;
    private readonly int[] _rackOf;
    private readonly string[] _datacenters;
    private readonly Dictionary<NodeAddress, int> _indexOf;

    public static TokenRing Empty { get; } = new([]);

    private TokenRing(RingMember[] members)
    {
        Array.Sort(members, static (a, b) => CompareAddress(a.Endpoint, b.Endpoint));
        _members = members;
        _endpoints = new NodeAddress[members.Length];
        _datacenterOf = new int[members.Length];
        _rackOf = new int[members.Length];
        _indexOf = new Dictionary<NodeAddress, int>(members.Length);
        var datacenters = new List<string>();
        var racks = new List<(string Dc, string Rack)>();
        var tokenCount = 0;
        for (var i = 0; i < members.Length; i++)
        {
            var m = members[i];
            if (!_indexOf.TryAdd(m.Endpoint, i))
                throw new ArgumentException($"Endpoint {m.Endpoint} appears twice in the ring membership.", nameof(members));
            _endpoints[i] = m.Endpoint;
            var dc = datacenters.IndexOf(m.Datacenter);
            if (dc < 0) { dc = datacenters.Count; datacenters.Add(m.Datacenter); }
            _datacenterOf[i] = dc;
            var rack = racks.IndexOf((m.Datacenter, m.Rack));
            if (rack < 0) { rack = racks.Count; racks.Add((m.Datacenter, m.Rack)); }
            _rackOf[i] = rack;
            tokenCount += m.Tokens.Count;
        }
        _datacenters = [.. datacenters];
        RackCount = racks.Count;

        _tokens = new ulong[tokenCount];
        _owners = new int[tokenCount];
        var n = 0;
        for (var i = 0; i < members.Length; i++)
        {
            foreach (var t in members[i].Tokens)
            {
                _tokens[n] = t;
                _owners[n] = i;
                n++;
            }
        }
        Array.Sort(_tokens, _owners);
        for (var i = 1; i < _tokens.Length; i++)
        {
            if (_tokens[i] == _tokens[i - 1])
            {
                throw new ArgumentException(
                    $"Token {_tokens[i]} is claimed by both {_endpoints[_owners[i - 1]]} and {_endpoints[_owners[i]]}; " +
                    "every token must have one owner. Remove one of the nodes or give it new tokens.", nameof(members));
            }
        }
    }

    /// <summary>Builds a ring from its members. Throws <see cref="ArgumentException"/> when two members claim one token.</summary>
    public static TokenRing Create(IEnumerable<RingMember> members) => new([.. members]);

    public int TokenCount => _tokens.Length;

    public int EndpointCount => _endpoints.Length;

    public int DatacenterCount => _datacenters.Length;

    public int RackCount { get; }

    public ReadOnlySpan<ulong> Tokens => _tokens;

    /// <summary>Endpoint index owning each token of <see cref="Tokens"/>.</summary>
    public ReadOnlySpan<int> TokenOwners => _owners;

    public ReadOnlySpan<NodeAddress> Endpoints => _endpoints;

    public IReadOnlyList<RingMember> Members => _members;

    public NodeAddress Endpoint(int endpointIndex) => _endpoints[endpointIndex];

    public RingMember Member(int endpointIndex) => _members[endpointIndex];

    /// <summary>Dense datacenter number of an endpoint (0..DatacenterCount-1).</summary>
    public int DatacenterOf(int endpointIndex) => _datacenterOf[endpointIndex];

    /// <summary>Dense rack number of an endpoint, unique across datacenters (0..RackCount-1).</summary>
    public int RackOf(int endpointIndex) => _rackOf[endpointIndex];

    public string DatacenterName(int datacenter) => _datacenters[datacenter];

    /// <summary>Dense number of a datacenter by name, or -1 when no endpoint of the ring is in it.</summary>
    public int DatacenterIndex(string name) => Array.IndexOf(_datacenters, name);

    public bool TryGetIndex(NodeAddress endpoint, out int endpointIndex) => _indexOf.TryGetValue(endpoint, out endpointIndex);

    public bool Contains(NodeAddress endpoint) => _indexOf.ContainsKey(endpoint);

    /// <summary>
    /// Index into <see cref="Tokens"/> of the token whose range contains <paramref name="token"/>: the first
    /// ring token at or after it, wrapping to 0. O(log n), allocation-free. Throws on an empty ring.
    /// </summary>
    public int TokenIndexFor(ulong token)
    {
        var tokens = _tokens;
        if (tokens.Length == 0) ThrowEmpty();
        int lo = 0, hi = tokens.Length - 1;
        if (token > tokens[hi]) return 0;
        while (lo < hi)
        {
            var mid = (int)((uint)(lo + hi) >> 1);
            if (tokens[mid] < token) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    /// <summary>The endpoint index owning the primary range that contains <paramref name="token"/>.</summary>
    public int PrimaryOwnerOf(ulong token) => _owners[TokenIndexFor(token)];

    /// <summary>Exclusive start of the range ending at token <paramref name="tokenIndex"/> (the previous token).</summary>
    public ulong RangeStart(int tokenIndex) => _tokens[tokenIndex == 0 ? _tokens.Length - 1 : tokenIndex - 1];

    /// <summary>Fraction of the token space in the range ending at token <paramref name="tokenIndex"/>.</summary>
    public double RangeFraction(int tokenIndex)
    {
        if (_tokens.Length == 1) return 1.0;
        var width = unchecked(_tokens[tokenIndex] - RangeStart(tokenIndex));
        return width / TokenSpace;
    }

    /// <summary>Fraction of the token space for which each endpoint is the primary owner (sums to 1).</summary>
    public double[] PrimaryOwnership()
    {
        var owned = new double[_endpoints.Length];
        for (var i = 0; i < _tokens.Length; i++) owned[_owners[i]] += RangeFraction(i);
        return owned;
    }

    /// <summary>This ring plus (or with a replaced) <paramref name="member"/>.</summary>
    public TokenRing With(RingMember member)
    {
        var members = new List<RingMember>(_members.Length + 1);
        foreach (var m in _members) if (m.Endpoint != member.Endpoint) members.Add(m);
        members.Add(member);
        return new TokenRing([.. members]);
    }

    /// <summary>This ring without <paramref name="endpoint"/> (the same ring if it was not a member).</summary>
    public TokenRing Without(NodeAddress endpoint)
    {
        if (!_indexOf.ContainsKey(endpoint)) return this;
        var members = new List<RingMember>(_members.Length);
        foreach (var m in _members) if (m.Endpoint != endpoint) members.Add(m);
        return new TokenRing([.. members]);
    }

    /// <summary>2^64 as a double: the size of the token space.</summary>
    public const double TokenSpace = 18446744073709551616.0;

    internal static int CompareAddress(NodeAddress a, NodeAddress b)
    {
        var c = string.CompareOrdinal(a.Host, b.Host);
        return c != 0 ? c : a.Port.CompareTo(b.Port);
    }

    [DoesNotReturn]
    private static void ThrowEmpty() =>
        throw new InvalidOperationException("The ring has no tokens yet: no node has joined with status NORMAL. Wait for the cluster to form.");
}
