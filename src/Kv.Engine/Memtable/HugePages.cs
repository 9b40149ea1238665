using System.Runtime.InteropServices;

namespace Kv.Engine.Memtable;

/// <summary>
/// Arrays whose memory the kernel is asked to back with transparent huge pages (2 MiB instead of 4 KiB), for the
/// memtable's big, randomly touched structures: its arena chunks and its hash index.
/// </summary>
/// <remarks>
/// Why: a get or an insert jumps to a random spot of a 64 MiB arena and a 16 MiB index. With 4 KiB pages that is
/// 20k pages, far more than the TLB holds, so nearly every such access first walks the page tables, and under a
/// hypervisor a walk is two-dimensional and costs several more memory reads. With 2 MiB pages the whole memtable
/// fits in 40 TLB entries. Measured: gets from a 512 MiB memtable 10-25 % faster (docs/engine.md, "Huge pages").
/// <para>How: the array is pinned (it never moves, so its address range stays the same) and the 2 MiB-aligned part
/// of that range gets <c>madvise(MADV_HUGEPAGE)</c> before anything touches it, so the first touch of each 2 MiB
/// faults in a huge page when the kernel has one free (<c>/sys/kernel/mm/transparent_hugepage/enabled</c>
/// "madvise" or "always"; with "never" the advice does nothing). The ends of the range that share a huge page with
/// other objects stay on small pages. The advice only changes how the memory is backed: it is still the GC's heap,
/// freed when the array is collected. Linux only; elsewhere this is an ordinary pinned array.</para>
/// </remarks>
internal static unsafe partial class HugePages
{
    public const int Size = 2 * 1024 * 1024;
    private const int MadviseHugePage = 14; // MADV_HUGEPAGE, the same number on every Linux architecture

    /// <summary>A pinned array of <paramref name="length"/> elements, not zeroed, its aligned interior advised
    /// for huge pages when <paramref name="advise"/>; <paramref name="advised"/> says whether the advice was taken.</summary>
    public static T[] AllocateUninitialized<T>(int length, bool advise, out bool advised) where T : unmanaged
    {
        var array = GC.AllocateUninitializedArray<T>(length, pinned: true);
        advised = advise && OperatingSystem.IsLinux() && Advise(array);
        return array;
    }

    /// <summary>The 2 MiB-aligned part of <paramref name="array"/>'s memory, as (address, length); length 0 when
    /// the array covers no whole aligned huge page.</summary>
    public static (nuint Address, nuint Length) AlignedInterior<T>(T[] array) where T : unmanaged
    {
        fixed (T* p = array)
        {
            var start = (nuint)p;
            var end = start + ((nuint)array.Length * (nuint)sizeof(T));
            var first = (start + Size - 1) & ~((nuint)Size - 1);
            var last = end & ~((nuint)Size - 1);
            return last > first ? (first, last - first) : (first, 0);
        }
    }

    private static bool Advise<T>(T[] array) where T : unmanaged
    {
        var (address, length) = AlignedInterior(array);
        if (length == 0) return false;
        // Failure (EINVAL: a kernel built without transparent huge pages) leaves ordinary pages: nothing to report.
        return Madvise((void*)address, length, MadviseHugePage) == 0;
    }

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(void* address, nuint length, int advice);
}
