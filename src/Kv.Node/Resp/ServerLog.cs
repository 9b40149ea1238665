using Microsoft.Extensions.Logging;

namespace Kv.Node.Resp;

internal static partial class ServerLog
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "client {Id} asked the node to SHUT DOWN")]
    public static partial void LogShutdownRequest(this ILogger logger, long id);
}
