namespace Kv.Engine.Sstable;

/// <summary>How a <see cref="TableBuilder"/> lays out a table. Readers need none of it: every table
/// describes itself (footer, properties).</summary>
public sealed class TableOptions
{
    /// <summary>Target uncompressed size of a data block; a block is cut once it reaches this size.</summary>
    public int BlockSize { get; set; } = 4096;

    /// <summary>Entries between restart points (full keys) in a data block.</summary>
    public int RestartInterval { get; set; } = 16;

    /// <summary>Bloom filter bits per distinct user key; 0 writes an empty filter that never excludes a key.</summary>
    public int BloomBitsPerKey { get; set; } = 10;

    /// <summary>LZ4-compress data blocks (a block stays uncompressed when LZ4 saves less than 12.5%).</summary>
    public bool Compression { get; set; } = true;

    /// <summary>Clock used for the table's creation time (a virtual clock in simulations).</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    internal void Validate()
    {
        if (BlockSize < 64) throw new ArgumentOutOfRangeException(nameof(BlockSize), BlockSize, "block size must be at least 64 bytes");
        if (RestartInterval < 1) throw new ArgumentOutOfRangeException(nameof(RestartInterval), RestartInterval, "restart interval must be at least 1");
        if (BloomBitsPerKey < 0 || BloomBitsPerKey > 64) throw new ArgumentOutOfRangeException(nameof(BloomBitsPerKey), BloomBitsPerKey, "bloom bits per key must be between 0 and 64");
    }
}
