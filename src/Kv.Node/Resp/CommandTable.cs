using System.Collections.Frozen;

namespace Kv.Node.Resp;

/// <summary>
/// Name → command. Adding a command touches its family file and the list below, nothing else.
/// Immutable after construction; lookups are allocation-free and case-insensitive.
/// </summary>
public sealed class CommandTable
{
    private const int MaxNameLength = 32;
    private readonly FrozenDictionary<string, CommandDefinition> _byName;
    private readonly FrozenDictionary<string, CommandDefinition>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    public CommandTable(IEnumerable<CommandDefinition> commands)
    {
        _byName = commands.ToFrozenDictionary(c => c.Name, StringComparer.OrdinalIgnoreCase);
        _lookup = _byName.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public static CommandTable Default { get; } = new(
    [
        .. ConnectionCommands.Definitions,
        .. StringCommands.Definitions,
        .. KeyCommands.Definitions,
        .. ServerCommands.Definitions,
        .. ClientCommands.Definitions,
        .. CommandCommands.Definitions,
        .. ConsistencyCommands.Definitions,
        .. MaintenanceCommands.Definitions,
    ]);

    public int Count => _byName.Count;

    public IEnumerable<CommandDefinition> All => _byName.Values.OrderBy(c => c.Name, StringComparer.Ordinal);

    public CommandDefinition? Find(ReadOnlySpan<byte> name)
    {
        if (name.Length > MaxNameLength) return null;
        Span<char> chars = stackalloc char[MaxNameLength];
        for (var i = 0; i < name.Length; i++) chars[i] = (char)name[i];
        return _lookup.TryGetValue(chars[..name.Length], out var command) ? command : null;
    }

    public CommandDefinition? Find(string name) => _byName.TryGetValue(name, out var command) ? command : null;
}
