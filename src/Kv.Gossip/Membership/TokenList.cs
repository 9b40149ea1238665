using System.Globalization;
using System.Text;

namespace Kv.Gossip.Membership;

/// <summary>
/// Text form of a node's tokens in <see cref="ApplicationState.Tokens"/>: lowercase hex tokens separated by ','.
/// wire format: changing it breaks mixed-version clusters.
/// </summary>
public static class TokenList
{
    public static string Format(IReadOnlyList<ulong> tokens)
    {
        var sb = new StringBuilder(tokens.Count * 17);
        for (var i = 0; i < tokens.Count; i++)
        {
            if (i > 0) sb.Append(',');
            sb.Append(tokens[i].ToString("x", CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    public static bool TryParse(string? text, out ulong[] tokens)
    {
        tokens = [];
        if (string.IsNullOrEmpty(text)) return false;
        var parts = text.Split(',');
        var result = new ulong[parts.Length];
        for (var i = 0; i < parts.Length; i++)
            if (!ulong.TryParse(parts[i], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out result[i])) return false;
        tokens = result;
        return true;
    }
}
