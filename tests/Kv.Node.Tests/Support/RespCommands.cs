using System.Globalization;

namespace Kv.Node.Tests.Support;

/// <summary>An error reply, as <see cref="RespCommands.CallAsync"/> returns it.</summary>
public sealed record RespError(string Message);

/// <summary>Builds requests for <see cref="RawClient"/> and reads its replies.</summary>
public static class RespCommands
{
    /// <summary>A command as a RESP array of bulk strings (ASCII parts).</summary>
    public static string Cmd(params string[] parts) =>
        $"*{parts.Length}\r\n" + string.Concat(parts.Select(p => $"${p.Length}\r\n{p}\r\n"));

    /// <summary>Sends one command and returns its reply parsed (ASCII commands and replies only).</summary>
    public static async Task<object?> CallAsync(RawClient client, params string[] args)
    {
        await client.SendAsync(Cmd(args));
        return ParseOne(await client.ReceiveRepliesAsync(1));
    }

    /// <summary>Parses exactly one reply (the whole of <paramref name="text"/>).</summary>
    public static object? ParseOne(string text)
    {
        var at = 0;
        var reply = Parse(text, ref at);
        Assert.Equal(text.Length, at);
        return reply;
    }

    /// <summary>One RESP2 reply: a simple or bulk string (null for nil), a <see cref="RespError"/>, a long, or a list.</summary>
    private static object? Parse(string text, ref int at)
    {
        var end = text.IndexOf("\r\n", at, StringComparison.Ordinal);
        Assert.True(end > at, $"incomplete reply: {text}");
        var type = text[at];
        var header = text[(at + 1)..end];
        at = end + 2;
        switch (type)
        {
            case '+':
                return header;
            case '-':
                return new RespError(header);
            case ':':
                return long.Parse(header, CultureInfo.InvariantCulture);
            case '$':
                {
                    var length = int.Parse(header, CultureInfo.InvariantCulture);
                    if (length < 0) return null;
                    var value = text.Substring(at, length);
                    at += length + 2;
                    return value;
                }
            case '*':
                {
                    var count = int.Parse(header, CultureInfo.InvariantCulture);
                    if (count < 0) return null;
                    var items = new List<object?>(count);
                    for (var i = 0; i < count; i++) items.Add(Parse(text, ref at));
                    return items;
                }
            default:
                throw new FormatException($"unexpected reply type '{type}' in {text}");
        }
    }
}
