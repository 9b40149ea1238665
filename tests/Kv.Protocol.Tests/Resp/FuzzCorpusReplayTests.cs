using Kv.Fuzz;

namespace Kv.Protocol.Tests.Resp;

/// <summary>
/// Replays the fuzz corpus (fuzz/corpus/resp, plus any crash files saved there) through the same target
/// the AFL++ harness runs; the target throws only on a parser bug.
/// </summary>
public sealed class FuzzCorpusReplayTests
{
    private static string CorpusDirectory()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !Directory.Exists(Path.Combine(dir.FullName, "fuzz", "corpus", "resp"))) dir = dir.Parent;
        Assert.NotNull(dir);
        return Path.Combine(dir!.FullName, "fuzz", "corpus", "resp");
    }

    [Fact]
    public void Corpus_EveryFile_ParsesWithoutException()
    {
        var files = Directory.GetFiles(CorpusDirectory());
        Assert.True(files.Length >= 10);
        foreach (var file in files) RespParserTarget.Run(File.ReadAllBytes(file));
    }

    [Fact]
    public void Corpus_MutatedInputs_ParseWithoutException()
    {
        var random = new Random(12345);
        foreach (var file in Directory.GetFiles(CorpusDirectory()))
        {
            var original = File.ReadAllBytes(file);
            for (var round = 0; round < 300; round++)
            {
                var bytes = (byte[])original.Clone();
                var flips = 1 + random.Next(4);
                for (var i = 0; i < flips; i++) bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
                RespParserTarget.Run(bytes);
                RespParserTarget.Run(bytes.AsSpan(0, random.Next(bytes.Length + 1)));
            }
        }
    }
}
