namespace Kv.Node.Storage;

/// <summary>
/// SCAN cursors: a position on the token ring, so a walk is in storage (token) order on one node and
/// the cluster coordinator can walk the ring the same way.
/// </summary>
/// <remarks>
/// <code>
/// cursor := 0                      ; start of a walk (in a request) or end of the walk (in a reply)
///         | c in [1, 2^63 - 1]     ; resume at token 2*c (inclusive); every key of a token below 2*c was returned
/// </code>
/// A page always ends on a token boundary, and is extended by one token when needed so that the resume
/// token is even; so the cursor fits a signed 64-bit decimal (which clients such as redis-cli and
/// StackExchange.Redis parse) and no key is returned twice or skipped by a walk, whatever writes
/// happen meanwhile (keys added or removed during a walk may or may not be seen, as in Redis).
/// </remarks>
public static class ScanCursor
{
    /// <summary>The first token a cursor resumes at.</summary>
    public static ulong ResumeToken(long cursor) => (ulong)cursor << 1;

    /// <summary>The cursor that resumes at <paramref name="evenToken"/> (which must be even and non-zero).</summary>
    public static long FromResumeToken(ulong evenToken) => (long)(evenToken >> 1);

    public static bool IsValid(long cursor) => cursor >= 0;
}
