using System.Globalization;
using Kv.Node.Storage;

namespace Kv.Node.Resp;

/// <summary>SAVE, BGSAVE, LASTSAVE, SCRUB: checkpoints and scrubs of this node's engine (docs/operations.md).</summary>
internal static class MaintenanceCommands
{
    public static IEnumerable<CommandDefinition> Definitions =>
    [
        new("save", -1, CommandFlags.Admin, Save, "server",
            "Writes a checkpoint of this node's engine into <data>/snapshots/<name> (hard links; other clients keep being served) (admin command)."),
        new("bgsave", -1, CommandFlags.Admin, BgSave, "server", "Not supported: use SAVE, which does not block other clients."),
        new("lastsave", 1, CommandFlags.Fast, LastSave, "server", "Returns the UNIX time of the last SAVE since the node started (0: none)."),
        new("scrub", 1, CommandFlags.Admin, Scrub, "server",
            "Verifies every checksum of this node's tables and manifest; replies with what it checked and every damaged part (admin command)."),
    ];

    private static async ValueTask Save(CommandContext c)
    {
        if (c.Request.Count > 2)
        {
            c.WriteSyntaxError();
            return;
        }
        if (c.Server.Maintenance is not { } maintenance)
        {
            c.Reply.WriteError("ERR SAVE needs a node with a local engine; this server has none"u8);
            return;
        }
        var name = c.Request.Count == 2 ? c.ArgString(1) : null;
        try
        {
            var snapshot = await maintenance.CreateCheckpointAsync(name).ConfigureAwait(false);
            c.Server.Logger.LogCheckpoint(c.Id, snapshot.Checkpoint.Directory, snapshot.Checkpoint.TableCount, snapshot.Checkpoint.Bytes);
            c.Reply.WriteOk();
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            c.Reply.WriteError($"ERR {e.Message}");
        }
        catch (IOException e)
        {
            c.Reply.WriteError($"ERR the checkpoint failed: {e.Message}");
        }
    }

    private static ValueTask BgSave(CommandContext c)
    {
        c.Reply.WriteError("ERR BGSAVE is not supported by kv-node: use SAVE [name], which writes a checkpoint without blocking other clients (see docs/operations.md)"u8);
        return default;
    }

    private static ValueTask LastSave(CommandContext c)
    {
        c.Reply.WriteInteger(c.Server.Maintenance?.LastCheckpoint?.CompletedAt.ToUnixTimeSeconds() ?? 0);
        return default;
    }

    private static async ValueTask Scrub(CommandContext c)
    {
        if (c.Server.Maintenance is not { } maintenance)
        {
            c.Reply.WriteError("ERR SCRUB needs a node with a local engine; this server has none"u8);
            return;
        }
        Engine.ScrubReport report;
        try
        {
            report = await maintenance.ScrubAsync().ConfigureAwait(false);
        }
        catch (InvalidOperationException e)
        {
            c.Reply.WriteError($"ERR {e.Message}");
            return;
        }
        // One line of totals, then one line per damaged part (file and offset are in each message).
        var inv = CultureInfo.InvariantCulture;
        c.Reply.WriteArrayHeader(1 + report.Errors.Count);
        c.Reply.WriteBulk(string.Create(inv,
            $"{(report.IsClean ? "clean" : "damaged")} tables={report.TablesChecked} blocks={report.BlocksChecked} bytes={report.BytesChecked} errors={report.Errors.Count}"));
        foreach (var error in report.Errors) c.Reply.WriteBulk(error.Message);
    }
}
