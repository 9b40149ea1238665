using System.Text;
using Kv.Node.Resp;

namespace Kv.Node.Tests.Resp;

public sealed class CommandTableTests
{
    [Fact]
    public void EveryCommand_IsFoundFromItsBytes_InAnyCase()
    {
        var table = CommandTable.Default;
        Assert.True(table.Count > 40);
        foreach (var command in table.All)
        {
            var name = command.Name;
            var mixed = string.Concat(name.Select((c, i) => i % 2 == 0 ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c)));
            foreach (var spelling in new[] { name.ToUpperInvariant(), name.ToLowerInvariant(), mixed })
                Assert.Same(command, table.Find(Encoding.ASCII.GetBytes(spelling)));
            Assert.Same(command, table.Find(name.ToLowerInvariant()));
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("GE")]
    [InlineData("GETT")]
    [InlineData("GEU")]
    [InlineData("G\0T")]
    [InlineData("GET ")]
    [InlineData("XGET")]
    [InlineData("NOSUCHCOMMANDWITHAVERYLONGNAMEINDEEDMORETHAN32")]
    public void NamesThatAreNoCommand_AreNotFound(string name)
    {
        Assert.Null(CommandTable.Default.Find(Encoding.ASCII.GetBytes(name)));
    }

    [Fact]
    public void BytesThatFoldLikeLetters_AreNotTakenForThem()
    {
        // The hash folds every byte with | 0x20, so bytes that are not letters can hash like letters; the comparison
        // ignores case for ASCII letters only. "GET" with its 'E' (0x45) replaced by 0xC5 or 0xE5 is not GET.
        Assert.NotNull(CommandTable.Default.Find("get"u8));
        Assert.Null(CommandTable.Default.Find([(byte)'G', 0xC5, (byte)'T']));
        Assert.Null(CommandTable.Default.Find([(byte)'G', 0xE5, (byte)'T']));
    }

    [Fact]
    public void Names_ThatAreNotShortAscii_AreRefused()
    {
        CommandDefinition Def(string name) => CommandTable.Default.Find("PING"u8)! with { Name = name };
        Assert.Throws<ArgumentException>(() => new CommandTable([Def("PÏNG")]));
        Assert.Throws<ArgumentException>(() => new CommandTable([Def(new string('A', 33))]));
        var table = new CommandTable([Def("ONE"), Def("TWO")]);
        Assert.Equal("TWO", table.Find("two"u8)!.Name);
        Assert.Null(table.Find("PING"u8));
    }
}
