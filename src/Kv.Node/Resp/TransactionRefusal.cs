namespace Kv.Node.Resp;

/// <summary>
/// MULTI/EXEC, WATCH and DISCARD: KvStore has no transactions (a Dynamo-style store has no isolation across keys to
/// offer them with), and says so in a way that keeps a client's data whole. A client that pipelines
/// <c>MULTI, SET a, SET b, EXEC</c> and gets an error only for MULTI would otherwise have both SETs applied while its
/// library reports the transaction failed. So after MULTI the connection refuses every command up to EXEC (which
/// answers <c>EXECABORT</c>, as Redis does for a transaction with a refused command) or DISCARD, and nothing in
/// between runs: client libraries raise an error and nothing was written. QUIT still closes the connection.
/// </summary>
/// <remarks>Not in the command table, so COMMAND does not list them as supported. Stateless; the state is
/// <see cref="CommandContext.RefusingTransaction"/>.</remarks>
internal static class TransactionRefusal
{
    /// <summary>Whether <paramref name="command"/> still runs while a MULTI is being refused (only QUIT does).</summary>
    public static bool Passes(CommandDefinition? command) => command is not null && string.Equals(command.Name, "quit", StringComparison.Ordinal);

    /// <summary>Answers the request if it is one of the transaction commands or the connection is refusing a MULTI;
    /// returns false (nothing written) otherwise.</summary>
    public static bool TryHandle(CommandContext c)
    {
        if (c.RefusingTransaction)
        {
            if (c.ArgIs(0, "EXEC"u8))
            {
                c.RefusingTransaction = false;
                c.Reply.WriteError("EXECABORT Transaction discarded because of previous errors."u8);
            }
            else if (c.ArgIs(0, "DISCARD"u8))
            {
                c.RefusingTransaction = false;
                c.Reply.WriteSimpleString("OK"u8);
            }
            else if (c.ArgIs(0, "MULTI"u8))
            {
                c.Reply.WriteError("ERR MULTI calls can not be nested"u8);
            }
            else
            {
                var name = new System.Text.StringBuilder("ERR '");
                CommandContext.AppendPrintable(name, c.Request[0]);
                name.Append("' refused: this connection sent MULTI, and KvStore has no transactions; send EXEC or DISCARD to end it");
                c.Reply.WriteError(name.ToString());
            }
            return true;
        }
        var multi = c.ArgIs(0, "MULTI"u8);
        if (!multi && !c.ArgIs(0, "EXEC"u8) && !c.ArgIs(0, "DISCARD"u8) && !c.ArgIs(0, "WATCH"u8) && !c.ArgIs(0, "UNWATCH"u8)) return false;
        if (!c.Authenticated)
        {
            c.Reply.WriteError("NOAUTH Authentication required."u8);
            return true;
        }
        if (multi)
        {
            c.RefusingTransaction = true;
            c.Reply.WriteError("ERR MULTI is not supported: KvStore has no transactions; commands up to EXEC or DISCARD are refused and EXEC aborts"u8);
            return true;
        }
        if (c.ArgIs(0, "EXEC"u8)) c.Reply.WriteError("ERR EXEC without MULTI"u8);
        else if (c.ArgIs(0, "DISCARD"u8)) c.Reply.WriteError("ERR DISCARD without MULTI"u8);
        else if (c.ArgIs(0, "WATCH"u8)) c.Reply.WriteError("ERR WATCH is not supported: KvStore has no transactions"u8);
        else c.Reply.WriteSimpleString("OK"u8); // UNWATCH: nothing is ever watched
        return true;
    }
}
