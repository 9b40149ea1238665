using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Kv.Engine.Format;
using Kv.Engine.Memtable;

namespace Kv.Engine.Tests.Memtable;

public class HugePagesTests
{
    private static bool KernelHasTransparentHugePages => File.Exists("/sys/kernel/mm/transparent_hugepage/enabled");

    [Fact]
    public void AlignedInterior_IsTheWholeHugePagesInsideTheArray()
    {
        var array = HugePages.AllocateUninitialized<long>(6 * HugePages.Size / sizeof(long), advise: false, out var advised);
        Assert.False(advised);
        var (address, length) = HugePages.AlignedInterior(array);
        // The array is pinned, so its address holds for the whole test.
        var start = (nuint)Marshal.UnsafeAddrOfPinnedArrayElement(array, 0);
        var end = start + (nuint)(array.Length * sizeof(long));
        Assert.Equal(0u, address % HugePages.Size);
        Assert.Equal(0u, length % HugePages.Size);
        Assert.True(address >= start && address - start < HugePages.Size, $"interior starts {address - start} bytes in");
        Assert.True(address + length <= end && end - (address + length) < HugePages.Size, $"interior ends {end - (address + length)} bytes early");
        Assert.True(length >= 5u * HugePages.Size);

        Assert.Equal(0u, HugePages.AlignedInterior(new byte[HugePages.Size / 2]).Length);
    }

    [Fact]
    public void AllocateUninitialized_Advised_KernelMarksTheInteriorForHugePages()
    {
        if (!OperatingSystem.IsLinux() || !KernelHasTransparentHugePages) return; // nothing to advise there
        var array = HugePages.AllocateUninitialized<byte>(5 * HugePages.Size, advise: true, out var advised);
        Assert.True(advised);
        var (address, length) = HugePages.AlignedInterior(array);
        // smaps lists the mapping that holds the interior; "hg" in its VmFlags is MADV_HUGEPAGE.
        var flags = VmFlagsOf(address);
        Assert.Contains("hg", flags);
        Assert.Contains("hg", VmFlagsOf(address + length - 1));
        GC.KeepAlive(array);
    }

    [Fact]
    public void Memtable_WithHugePages_ManyEntriesAcrossChunks_AllReadBackInOrder()
    {
        // 4 MiB chunks and a 64 MiB index limit: both big enough to be advised; ~40k entries of ~300 bytes fill 3 chunks.
        var m = new SkipListMemtable(4 * 1024 * 1024, expectedBytes: 64L * 1024 * 1024, hugePages: true);
        var value = new byte[EntryValue.EncodedLength(0, 256)];
        EntryValue.Write(value, 0, new byte[256]);
        const int count = 40_000;
        for (var i = 0; i < count; i++)
        {
            BitConverter.TryWriteBytes(value.AsSpan(value.Length - 4), i);
            m.Add(Key(i), 7, EntryKind.Value, value, i + 1);
        }
        for (var i = 0; i < count; i++)
        {
            Assert.True(m.TryGetNewest(Key(i), out var ts, out _, out var read), $"key {i} missing");
            Assert.Equal(7, ts);
            Assert.Equal(i, BitConverter.ToInt32(read[^4..]));
        }
        Assert.False(m.TryGetNewest(Key(count), out _, out _, out _));
        using var it = m.NewIterator();
        var n = 0;
        for (it.SeekToFirst(); it.Valid; it.Next()) Assert.Equal(Key(n++), InternalKey.UserKey(it.Key).ToArray());
        Assert.Equal(count, n);
    }

    private static byte[] Key(int i) => Encoding.ASCII.GetBytes($"key{i:D8}");

    private static string[] VmFlagsOf(nuint address)
    {
        var inMapping = false;
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            var dash = line.IndexOf('-');
            var space = line.IndexOf(' ');
            if (dash > 0 && space > dash && ulong.TryParse(line.AsSpan(0, dash), NumberStyles.HexNumber, null, out var from)
                && ulong.TryParse(line.AsSpan(dash + 1, space - dash - 1), NumberStyles.HexNumber, null, out var to))
            {
                inMapping = address >= from && address < to;
            }
            else if (inMapping && line.StartsWith("VmFlags:", StringComparison.Ordinal))
            {
                return line["VmFlags:".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            }
        }
        throw new InvalidOperationException($"no mapping in /proc/self/smaps holds 0x{address:x}");
    }
}
