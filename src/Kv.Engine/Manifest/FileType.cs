namespace Kv.Engine.Manifest;

/// <summary>The kinds of file in a database directory (see <see cref="FileNames"/>).</summary>
public enum FileType
{
    /// <summary><c>NNNNNN.log</c>: a write-ahead log.</summary>
    Log,

    /// <summary><c>NNNNNN.sst</c>: an SSTable.</summary>
    Table,

    /// <summary><c>MANIFEST-NNNNNN</c>: a log of version edits.</summary>
    Manifest,

    /// <summary><c>CURRENT</c>: names the live manifest.</summary>
    Current,

    /// <summary><c>NNNNNN.dbtmp</c>: a file being written before an atomic rename; never live after a restart.</summary>
    Temp,

    /// <summary><c>LOCK</c>: keeps a second process out of the directory.</summary>
    Lock,
}
