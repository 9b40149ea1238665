using Microsoft.Extensions.Logging;

namespace Kv.Node.Resp;

internal static partial class ServerLog
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "client {Id} asked the node to SHUT DOWN")]
    public static partial void LogShutdownRequest(this ILogger logger, long id);

    [LoggerMessage(Level = LogLevel.Information, Message = "client {Id}: SAVE wrote a checkpoint into {Directory} ({Tables} tables, {Bytes} bytes)")]
    public static partial void LogCheckpoint(this ILogger logger, long id, string directory, int tables, long bytes);
}
