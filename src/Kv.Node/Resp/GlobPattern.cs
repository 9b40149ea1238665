namespace Kv.Node.Resp;

/// <summary>
/// Redis glob matching (SCAN MATCH, CONFIG GET): <c>*</c> any run, <c>?</c> one byte, <c>[abc]</c>,
/// <c>[^a-z]</c> classes, <c>\x</c> escapes. Byte-wise and case-sensitive unless asked otherwise.
/// </summary>
public static class GlobPattern
{
    public static bool IsMatch(ReadOnlySpan<byte> pattern, ReadOnlySpan<byte> text, bool ignoreCase = false)
    {
        var p = 0;
        var t = 0;
        int starP = -1, starT = -1;
        while (t < text.Length)
        {
            if (p < pattern.Length && pattern[p] == (byte)'*')
            {
                while (p < pattern.Length && pattern[p] == (byte)'*') p++;
                if (p == pattern.Length) return true;
                starP = p;
                starT = t;
                continue;
            }
            if (p < pattern.Length && MatchOne(pattern, ref p, text[t], ignoreCase))
            {
                t++;
                continue;
            }
            if (starP < 0) return false;
            p = starP;
            t = ++starT;
        }
        while (p < pattern.Length && pattern[p] == (byte)'*') p++;
        return p == pattern.Length;
    }

    /// <summary>Matches one text byte against the pattern element at <paramref name="p"/>; advances p past it on success.</summary>
    private static bool MatchOne(ReadOnlySpan<byte> pattern, ref int p, byte c, bool ignoreCase)
    {
        var b = pattern[p];
        if (b == (byte)'?')
        {
            p++;
            return true;
        }
        if (b == (byte)'[')
        {
            var i = p + 1;
            var negate = i < pattern.Length && pattern[i] == (byte)'^';
            if (negate) i++;
            var matched = false;
            while (i < pattern.Length && pattern[i] != (byte)']')
            {
                if (pattern[i] == (byte)'\\' && i + 1 < pattern.Length)
                {
                    i++;
                    if (Same(pattern[i], c, ignoreCase)) matched = true;
                    i++;
                }
                else if (i + 2 < pattern.Length && pattern[i + 1] == (byte)'-' && pattern[i + 2] != (byte)']')
                {
                    var lo = Math.Min(pattern[i], pattern[i + 2]);
                    var hi = Math.Max(pattern[i], pattern[i + 2]);
                    var x = ignoreCase ? Lower(c) : c;
                    if ((x >= lo && x <= hi) || (ignoreCase && Lower(c) >= Lower(lo) && Lower(c) <= Lower(hi))) matched = true;
                    i += 3;
                }
                else
                {
                    if (Same(pattern[i], c, ignoreCase)) matched = true;
                    i++;
                }
            }
            p = Math.Min(i + 1, pattern.Length);
            return matched != negate;
        }
        if (b == (byte)'\\' && p + 1 < pattern.Length)
        {
            if (!Same(pattern[p + 1], c, ignoreCase)) return false;
            p += 2;
            return true;
        }
        if (!Same(b, c, ignoreCase)) return false;
        p++;
        return true;
    }

    private static bool Same(byte a, byte b, bool ignoreCase) => a == b || (ignoreCase && Lower(a) == Lower(b));

    private static byte Lower(byte b) => b is >= (byte)'A' and <= (byte)'Z' ? (byte)(b + 32) : b;
}
