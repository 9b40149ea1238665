namespace Kv.Engine.Sstable;

/// <summary>The compression byte of a block trailer. wire format: the byte values are stored in every table.</summary>
public enum BlockCompression : byte
{
    None = 0,

    /// <summary>LZ4 block format; contents := uncompressed_length: varint | lz4 block.</summary>
    Lz4 = 1,
}
