namespace Kv.Node.Tests.Support;

/// <summary>Builds requests for <see cref="RawClient"/>.</summary>
public static class RespCommands
{
    /// <summary>A command as a RESP array of bulk strings (ASCII parts).</summary>
    public static string Cmd(params string[] parts) =>
        $"*{parts.Length}\r\n" + string.Concat(parts.Select(p => $"${p.Length}\r\n{p}\r\n"));
}
