namespace Kv.Node.Resp;

/// <summary>Executes one command; writes its reply through the context. Most complete synchronously.</summary>
public delegate ValueTask CommandHandler(CommandContext context);

/// <summary>
/// One entry of the command table. <see cref="Arity"/> follows Redis: positive = exact argument count
/// (command name included), negative = at least that many. Key positions feed COMMAND INFO.
/// </summary>
public sealed record CommandDefinition(
    string Name,
    int Arity,
    CommandFlags Flags,
    CommandHandler Handler,
    string Group,
    string Summary,
    int FirstKey = 0,
    int LastKey = 0,
    int Step = 0)
{
    /// <summary>"-ERR wrong number of arguments for '&lt;name&gt;' command\r\n", precomputed.</summary>
    public byte[] ArityError { get; } = System.Text.Encoding.ASCII.GetBytes($"ERR wrong number of arguments for '{Name}' command");

    public bool AcceptsArgumentCount(int count) => Arity >= 0 ? count == Arity : count >= -Arity;

    private static int s_created;

    /// <summary>Definitions created in this process so far.</summary>
    public static int Created => Volatile.Read(ref s_created);

    /// <summary>This definition's number in the process, from 0 in creation order: where a server's
    /// <see cref="CommandStatistics"/> keeps its counters. A copy made with <c>with</c> keeps it (and so shares the
    /// counters), as it keeps <see cref="ArityError"/>.</summary>
    public int Ordinal { get; } = Interlocked.Increment(ref s_created) - 1;
}
