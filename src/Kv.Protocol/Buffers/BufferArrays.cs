using System.Buffers;

namespace Kv.Protocol.Buffers;

/// <summary>
/// Where a growable buffer's arrays come from: up to 1 MiB the shared pool (reused, so hot paths allocate nothing once
/// warm); above, an array of exactly the size asked for, left to the collector. The pool rounds a request up to the
/// next power of two and may keep what it is given back, so a 513 MB value would cost a 1 GiB array that stays.
/// </summary>
public static class BufferArrays
{
    public const int LargestPooled = 1024 * 1024;

    /// <summary>An array of at least <paramref name="size"/> bytes; <paramref name="pooled"/> says whether it must go back
    /// through <see cref="Release"/>.</summary>
    public static byte[] Allocate(int size, out bool pooled)
    {
        pooled = size <= LargestPooled;
        return pooled ? ArrayPool<byte>.Shared.Rent(size) : GC.AllocateUninitializedArray<byte>(size);
    }

    /// <summary>Returns a pooled array; a large one is simply dropped.</summary>
    public static void Release(byte[] array, bool pooled)
    {
        if (pooled && array.Length > 0) ArrayPool<byte>.Shared.Return(array);
    }
}
