using System.Text;
using Kv.Gossip.Ring;

namespace Kv.Gossip.Tests.Ring;

public class PartitionerTests
{
    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    [Theory]
    [InlineData("{user1000}.following", "user1000")]
    [InlineData("foo{}{bar}", "foo{}{bar}")]
    [InlineData("foo{{bar}}zap", "{bar")]
    [InlineData("foo{bar}{zap}", "bar")]
    [InlineData("plain", "plain")]
    [InlineData("open{only", "open{only")]
    public void PartitionOf_FollowsRedisHashTagRule(string key, string expected)
    {
        Assert.Equal(expected, Encoding.UTF8.GetString(Partitioner.PartitionOf(B(key))));
    }

    [Fact]
    public void Token_SameHashTag_SameToken()
    {
        Assert.Equal(Partitioner.Token(B("{user:1}:name")), Partitioner.Token(B("{user:1}:email")));
        Assert.NotEqual(Partitioner.Token(B("user:1:name")), Partitioner.Token(B("user:1:email")));
    }

    [Fact]
    public void WriteStorageKey_OrdersBytewiseByToken()
    {
        var keys = Enumerable.Range(0, 200).Select(i => B("key" + i)).ToArray();
        var storage = keys.Select(k => { var d = new byte[8 + k.Length]; Partitioner.WriteStorageKey(d, k); return d; }).ToArray();
        var byBytes = storage.OrderBy(s => s, Comparer<byte[]>.Create((a, b) => a.AsSpan().SequenceCompareTo(b))).ToArray();
        var tokens = byBytes.Select(s => Partitioner.TokenOfStorageKey(s)).ToArray();
        Assert.Equal(tokens.OrderBy(t => t), tokens);
        Assert.All(storage, s => Assert.Contains(keys, k => k.AsSpan().SequenceEqual(Partitioner.UserKeyOfStorageKey(s))));
    }
}
