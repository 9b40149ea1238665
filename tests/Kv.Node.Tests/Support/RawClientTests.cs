using System.Text;

namespace Kv.Node.Tests.Support;

/// <summary>The reply counter that <see cref="RawClient.ReceiveRepliesAsync"/> waits on: a miscount would end a read early or make it wait out its timeout.</summary>
public sealed class RawClientTests
{
    [Theory]
    [InlineData("", 0)]
    [InlineData("+PONG\r", 0)]
    [InlineData("+PONG\r\n", 1)]
    [InlineData("-ERR x\r\n:5\r\n$-1\r\n_\r\n", 4)]
    [InlineData("$5\r\nab\r\n", 0)] // bulk body split by a read
    [InlineData("$4\r\na\r\nb\r\n", 1)] // CRLF inside a bulk body is data
    [InlineData("*2\r\n$1\r\na\r\n", 0)]
    [InlineData("*2\r\n$1\r\na\r\n*0\r\n+OK\r\n", 2)] // the nested empty array is the second element, +OK the second reply
    [InlineData("*-1\r\n", 1)]
    [InlineData("%1\r\n+k\r\n*1\r\n:1\r\n~1\r\n#t\r\n", 2)]
    [InlineData("%1\r\n+k\r\n", 0)]
    [InlineData("|1\r\n+a\r\n:1\r\n+OK\r\n", 1)] // an attribute belongs to the reply after it
    public void CountReplies_CountsOnlyWholeTopLevelReplies(string data, int expected) =>
        Assert.Equal(expected, RawClient.CountReplies(Encoding.UTF8.GetBytes(data)));
}
