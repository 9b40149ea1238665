using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Kv.Node.Resp;

/// <summary>
/// Runs one parsed request: lookup, the checks Redis makes in Redis's order (unknown command, arity,
/// authentication, permission), then the handler, timed for the server's <see cref="Slowlog"/>. Stateless and thread-safe.
/// </summary>
internal sealed class CommandDispatcher(CommandTable table)
{
    public CommandTable Table { get; } = table;

    public ValueTask ExecuteAsync(CommandContext context)
    {
        var request = context.Request;
        context.Server.Stats.CountCommand();
        var command = Table.Find(request[0]);
        if (context.RefusingTransaction && !TransactionRefusal.Passes(command))
            return context.HasLateReplies ? DrainThenRefuseAsync(context) : Refuse(context);
        if (context.HasLateReplies && !MayJoinLateReplies(context, command))
            return DrainThenExecuteAsync(context, command); // anything else may reply at once: earlier replies go first
        return Execute(context, command);
    }

    private ValueTask Execute(CommandContext context, CommandDefinition? command)
    {
        var request = context.Request;
        if (command is null)
        {
            if (request.IsInline && (context.ArgIs(0, "POST"u8) || context.ArgIs(0, "HOST:"u8)))
            {
                context.Server.Logger.LogWarning("client {Id} ({Remote}) sent an HTTP request to the RESP port; closing the connection",
                    context.Id, context.RemoteEndPoint);
                context.CloseAfterReply = true;
                return default;
            }
            if (!TransactionRefusal.TryHandle(context)) context.WriteUnknownCommand();
            return default;
        }
        if (!command.AcceptsArgumentCount(request.Count))
        {
            context.Server.CommandStats.CountRejected(command);
            context.WriteArityError(command);
            return default;
        }
        if (!context.Authenticated && (command.Flags & CommandFlags.NoAuth) == 0)
        {
            context.Server.CommandStats.CountRejected(command);
            context.Reply.WriteError("NOAUTH Authentication required."u8);
            return default;
        }
        if ((command.Flags & CommandFlags.Admin) != 0 && !context.IsAdmin)
        {
            context.Server.CommandStats.CountRejected(command);
            context.WriteNotAdmin(command.Name);
            return default;
        }
        context.LastCommand = command.Name;
        if (context.HasPendingWrites && !MayRunBesidePending(context, command))
            return DrainThenRunAsync(context, command);
        return Run(context, command);
    }

    /// <summary>
    /// While late replies are pending, a request may start only if it writes no reply of its own at once (so replies
    /// stay in order) and only beside its own kind (so a GET never misses, nor sees, a SET pipelined around it; see
    /// <see cref="CommandContext"/>): <c>SET key value</c> beside pending SETs, <c>GET key</c> beside pending GETs.
    /// </summary>
    private static bool MayJoinLateReplies(CommandContext context, CommandDefinition? command) =>
        command is not null && !context.PendingFull && context.Authenticated &&
        (IsPlain(context, command, "set", 3) ? !context.HasLateReads : IsPlain(context, command, "get", 2) && context.OnlyLateReadsPending);

    /// <summary>Pending writes are all deferrable ones (or pending reads all GETs): may this command run without draining them?</summary>
    private static bool MayRunBesidePending(CommandContext context, CommandDefinition command) =>
        !context.PendingFull &&
        (context.HasLateReads ? IsPlain(context, command, "get", 2) : (command.Flags & CommandFlags.MayDefer) != 0);

    private static bool IsPlain(CommandContext context, CommandDefinition command, string name, int count) =>
        context.Request.Count == count && string.Equals(command.Name, name, StringComparison.Ordinal);

    private static ValueTask Refuse(CommandContext context)
    {
        TransactionRefusal.TryHandle(context);
        return default;
    }

    private static async ValueTask DrainThenRefuseAsync(CommandContext context)
    {
        await context.DrainAsync().ConfigureAwait(false);
        TransactionRefusal.TryHandle(context);
    }

    private async ValueTask DrainThenExecuteAsync(CommandContext context, CommandDefinition? command)
    {
        await context.DrainAsync().ConfigureAwait(false);
        await Execute(context, command).ConfigureAwait(false);
    }

    private static async ValueTask DrainThenRunAsync(CommandContext context, CommandDefinition command)
    {
        await context.DrainAsync().ConfigureAwait(false);
        await Run(context, command).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs the handler, timed for INFO commandstats and the slow log: from just before the handler to its task's
    /// completion, so neither the time a request waited in the connection's input (or for earlier writes to drain) nor
    /// the reply's send counts. A write or read the handler leaves pending (<see cref="CommandContext.DeferOk"/>,
    /// <see cref="CommandContext.DeferValue"/>) is not waited for: it is timed up to the hand-off.
    /// Under the slow log's threshold this costs two timestamp reads, two interlocked adds on a line this thread
    /// rarely shares and a compare, and allocates nothing.
    /// </summary>
    private static ValueTask Run(CommandContext context, CommandDefinition command)
    {
        var started = Stopwatch.GetTimestamp();
        ValueTask task;
        try
        {
            task = command.Handler(context);
        }
        catch (Exception e) when (e is not DeferredWriteException)
        {
            Fail(context, command, e);
            task = default;
        }
        if (!task.IsCompletedSuccessfully) return AwaitHandlerAsync(context, command, task, started);
        Observe(context, command, started);
        return default;
    }

    private static void Observe(CommandContext context, CommandDefinition command, long started)
    {
        var server = context.Server;
        var elapsed = Stopwatch.GetTimestamp() - started;
        server.CommandStats.CountCall(command, elapsed);
        if (server.Slowlog.Enabled) server.Slowlog.Observe(context, command, elapsed);
    }

    private static async ValueTask AwaitHandlerAsync(CommandContext context, CommandDefinition command, ValueTask task, long started)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
        catch (Exception e) when (e is not DeferredWriteException)
        {
            Fail(context, command, e);
        }
        Observe(context, command, started);
    }

    private static void Fail(CommandContext context, CommandDefinition command, Exception e)
    {
        context.Server.CommandStats.CountFailed(command);
        if (e is Cluster.Coordination.ClusterRequestException cluster)
        {
            // Not a server fault: too few replicas answered. Clients see UNAVAILABLE / TIMEOUT and can retry or lower the level.
            context.Server.Logger.LogDebug("'{Command}' for client {Id}: {Error}", command.Name, context.Id, cluster.RespError);
            context.Reply.WriteError(cluster.RespError);
            return;
        }
        context.Server.Logger.LogError(e, "'{Command}' failed for client {Id}", command.Name, context.Id);
        context.Reply.WriteError($"ERR '{command.Name}' failed on the server: {e.Message}");
    }
}
