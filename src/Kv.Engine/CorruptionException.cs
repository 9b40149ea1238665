namespace Kv.Engine;

/// <summary>
/// Stored bytes failed a checksum or could not be parsed. Always names the file and the byte offset,
/// so an operator can find the damage; the engine never answers from bytes that failed verification.
/// </summary>
public sealed class CorruptionException : IOException
{
    public CorruptionException(string path, long offset, string what)
        : base($"corruption in '{path}' at offset {offset}: {what}")
    {
        FilePath = path;
        Offset = offset;
    }

    public string FilePath { get; }
    public long Offset { get; }
}
