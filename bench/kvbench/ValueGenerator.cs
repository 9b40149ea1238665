namespace Kv.Bench;

/// <summary>
/// db_bench's RandomGenerator: 1 MiB of data made of 100-byte pieces that each repeat a random
/// printable string of 100 * compression_ratio bytes (so values compress to about that ratio);
/// each value is the next slice of it, wrapping around.
/// </summary>
internal sealed class ValueGenerator
{
    private readonly byte[] _data;
    private int _position;

    public ValueGenerator(ulong seed, double compressionRatio)
    {
        var rng = new FastRandom(seed);
        _data = new byte[1 << 20];
        var filled = 0;
        var rawLength = Math.Clamp((int)(100 * compressionRatio), 1, 100);
        Span<byte> raw = stackalloc byte[rawLength];
        while (filled < _data.Length)
        {
            var pieceLength = Math.Min(100, _data.Length - filled);
            for (var i = 0; i < rawLength; i++) raw[i] = (byte)(' ' + (int)rng.Uniform(95));
            for (var i = 0; i < pieceLength; i++) _data[filled + i] = raw[i % rawLength];
            filled += pieceLength;
        }
    }

    public ReadOnlySpan<byte> Generate(int length)
    {
        if (_position + length > _data.Length) _position = 0;
        var slice = _data.AsSpan(_position, length);
        _position += length;
        return slice;
    }
}
