namespace Kv.Engine;

/// <summary>What <see cref="Database.Scrub"/> verified and what it found damaged.</summary>
public sealed class ScrubReport
{
    /// <summary>Live tables verified (every block of each).</summary>
    public int TablesChecked { get; init; }

    /// <summary>Blocks verified: footers, filter, properties and index blocks, data blocks.</summary>
    public long BlocksChecked { get; init; }

    /// <summary>Bytes read: the tables and the manifest.</summary>
    public long BytesChecked { get; init; }

    /// <summary>Path of the manifest verified.</summary>
    public string ManifestPath { get; init; } = "";

    /// <summary>One entry per damaged part, each naming the file and the byte offset (empty: everything verified).</summary>
    public IReadOnlyList<CorruptionException> Errors { get; init; } = [];

    /// <summary>When the scrub finished (<see cref="EngineOptions.TimeProvider"/>).</summary>
    public DateTimeOffset CompletedAt { get; init; }

    public bool IsClean => Errors.Count == 0;
}
