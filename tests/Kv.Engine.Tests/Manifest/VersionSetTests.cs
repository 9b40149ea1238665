using CsCheck;
using Kv.Engine.Manifest;
using static Kv.Engine.Tests.Manifest.ManifestTestData;
using Version = Kv.Engine.Manifest.Version;

namespace Kv.Engine.Tests.Manifest;

public class VersionSetTests
{
    [Fact]
    public void Create_ThenRecover_EmptyVersionAndCurrentNamesTheOnlyManifest()
    {
        var fs = NewFs();
        using (var created = VersionSet.Create(fs, Dir, null))
        {
            Assert.Equal(0, created.Current.TotalFileCount);
            Assert.Equal(7, created.Current.LevelCount);
        }
        using var recovered = VersionSet.Recover(fs, Dir, null);
        Assert.Equal(0, recovered.Current.TotalFileCount);
        var manifests = fs.ListFiles(Dir).Where(n => n.StartsWith("MANIFEST-", StringComparison.Ordinal)).ToList();
        Assert.Equal([FileNames.ManifestName(recovered.ManifestNumber)], manifests);
        Assert.Equal(FileNames.ManifestName(recovered.ManifestNumber) + "\n", System.Text.Encoding.UTF8.GetString(fs.ReadAllBytes(Dir + "/CURRENT")));
    }

    [Fact]
    public void LogAndApply_RandomEdits_RecoverGivesTheSameVersion()
    {
        // ops: 0 = add to L0, 1 = add to a deeper level, 2 = delete a live table, 3 = move the log number, 4 = reopen
        Gen.Select(Gen.Int[0, 4], Gen.Int[1, 6], Gen.Int[0, 1000]).List[1, 60].Sample(ops =>
        {
            var fs = NewFs();
            var set = VersionSet.Create(fs, Dir, null);
            var model = new Dictionary<ulong, int>();
            try
            {
                foreach (var (op, level, pick) in ops)
                {
                    var edit = new VersionEdit();
                    switch (op)
                    {
                        case 0 or 1:
                            var number = set.NewFileNumber();
                            var target = op == 0 ? 0 : level;
                            edit.AddFile(target, Table(number));
                            model[number] = target;
                            break;
                        case 2 when model.Count > 0:
                            var victim = model.Keys.OrderBy(k => k).ElementAt(pick % model.Count);
                            edit.DeleteFile(model[victim], victim);
                            model.Remove(victim);
                            break;
                        case 3:
                            edit.SetLogNumber(set.NewFileNumber());
                            break;
                        case 4:
                            var before = Snapshot(set);
                            var next = set.NextFileNumber;
                            set.Dispose();
                            set = VersionSet.Recover(fs, Dir, null);
                            Assert.Equal(before, Snapshot(set));
                            Assert.True(set.NextFileNumber >= next);
                            continue;
                    }
                    set.LogAndApply(edit);
                }
                for (var l = 0; l < Version.NumLevels; l++)
                    Assert.Equal(model.Where(kv => kv.Value == l).Select(kv => kv.Key).Order(), set.Current.Files(l).Select(f => f.Number).Order());
                // L0 newest first, deeper levels by smallest key
                Assert.Equal(set.Current.Files(0).Select(f => f.Number).OrderDescending(), set.Current.Files(0).Select(f => f.Number));
                for (var l = 1; l < Version.NumLevels; l++)
                    Assert.Equal(set.Current.Files(l).Select(f => f.Number).Order(), set.Current.Files(l).Select(f => f.Number));

                using var recovered = VersionSet.Recover(fs, Dir, null);
                AssertSameState(set, recovered);
                for (var l = 0; l < Version.NumLevels; l++) Assert.Equal(set.Current.Files(l), recovered.Current.Files(l));
                Assert.True(recovered.NextFileNumber >= set.NextFileNumber);
            }
            finally
            {
                set.Dispose();
            }
        }, iter: 60);
    }

    [Fact]
    public void NewFileNumber_AfterRecover_IsAboveEveryNumberHandedOutBeforeAnEdit()
    {
        var fs = NewFs();
        ulong handedOut;
        using (var set = VersionSet.Create(fs, Dir, null))
        {
            for (var i = 0; i < 10; i++) set.NewFileNumber();
            handedOut = set.NewFileNumber();
            set.LogAndApply(new VersionEdit()); // records the counter
        }
        using var recovered = VersionSet.Recover(fs, Dir, null);
        Assert.True(recovered.NewFileNumber() > handedOut);
    }

    [Fact]
    public void MarkFileNumberUsed_NumberAboveCounter_NextNumberIsAboveIt()
    {
        var fs = NewFs();
        using var set = VersionSet.Create(fs, Dir, null);
        set.MarkFileNumberUsed(500);
        set.MarkFileNumberUsed(3);
        Assert.Equal(501UL, set.NewFileNumber());
    }

    [Fact]
    public void LogAndApply_InvalidEdits_ThrowAndChangeNothing()
    {
        var fs = NewFs();
        using var set = VersionSet.Create(fs, Dir, null);
        var add = new VersionEdit();
        add.AddFile(1, Table(10));
        add.SetLogNumber(20);
        set.LogAndApply(add);
        var before = Snapshot(set);

        var deleteMissing = new VersionEdit();
        deleteMissing.DeleteFile(1, 11);
        Assert.Contains("does not hold it", Assert.Throws<InvalidOperationException>(() => set.LogAndApply(deleteMissing)).Message);

        var duplicate = new VersionEdit();
        duplicate.AddFile(0, Table(10));
        Assert.Contains("already live", Assert.Throws<InvalidOperationException>(() => set.LogAndApply(duplicate)).Message);

        var overlapping = new VersionEdit();
        overlapping.AddFile(1, Table(10) with { Number = 12 });
        Assert.Contains("overlap", Assert.Throws<InvalidOperationException>(() => set.LogAndApply(overlapping)).Message);

        var backwards = new VersionEdit();
        backwards.SetLogNumber(19);
        Assert.Throws<InvalidOperationException>(() => set.LogAndApply(backwards));

        Assert.Equal(before, Snapshot(set));
        using var recovered = VersionSet.Recover(fs, Dir, null);
        Assert.Equal(before, Snapshot(recovered));
    }

    [Fact]
    public void LogAndApply_ManifestPastTheLimit_StartsANewOneAndDeletesTheOld()
    {
        var fs = NewFs();
        using var set = VersionSet.Create(fs, Dir, null);
        var first = set.ManifestNumber;
        var live = new List<ulong>();
        var n = 0;
        while (set.ManifestNumber == first)
        {
            var edit = new VersionEdit();
            var number = set.NewFileNumber();
            edit.AddFile(2, Table(number, keyPadding: 4000));
            live.Add(number);
            if (++n % 3 == 0)
            {
                edit.DeleteFile(2, live[0]);
                live.RemoveAt(0);
            }
            set.LogAndApply(edit);
        }
        Assert.False(fs.FileExists(FileNames.ManifestFile(Dir, first)));
        Assert.True(fs.GetFileLength(FileNames.ManifestFile(Dir, set.ManifestNumber)) < VersionSet.MaxManifestBytes);
        Assert.Equal(live.Order(), set.Current.Files(2).Select(f => f.Number).Order());
        fs.Crash(); // everything acknowledged is durable
        using var recovered = VersionSet.Recover(fs, Dir, null);
        AssertSameState(set, recovered);
    }

    [Fact]
    public void Recover_CompactPointers_Survive()
    {
        var fs = NewFs();
        using (var set = VersionSet.Create(fs, Dir, null))
        {
            var edit = new VersionEdit();
            edit.SetCompactPointer(3, [1, 2, 3]);
            set.LogAndApply(edit);
            Assert.Equal([1, 2, 3], set.CompactPointer(3));
        }
        using var recovered = VersionSet.Recover(fs, Dir, null);
        Assert.Equal([1, 2, 3], recovered.CompactPointer(3));
        Assert.Null(recovered.CompactPointer(2));
    }

    [Fact]
    public void LiveFileNumbers_ListsEveryLevel()
    {
        var fs = NewFs();
        using var set = VersionSet.Create(fs, Dir, null);
        var edit = new VersionEdit();
        edit.AddFile(0, Table(5));
        edit.AddFile(0, Table(6));
        edit.AddFile(4, Table(7));
        set.LogAndApply(edit);
        Assert.Equal([5UL, 6UL, 7UL], set.LiveFileNumbers().Order());
        Assert.Equal([6UL, 5UL], set.Current.Files(0).Select(f => f.Number));
        Assert.Equal(4, set.Current.LevelOf(7));
    }
}
