using System.Text;
using ActorGateway.Mail.Scanning;
using ActorGateway.Testing;

namespace ActorGateway.Gateway.Tests.Policy;

/// <summary>Body patterns (.ndb) of the built-in scanner: wildcards, offsets, the ends of the content.</summary>
public sealed class ClamAvSignaturesTests : IDisposable
{
    readonly TempDirectory _dir = new();
    readonly ClamAvSignatures _signatures;

    public ClamAvSignaturesTests()
    {
        File.WriteAllLines(_dir.File("t.ndb"), [
            "Middle:0:*:41??43", // A?C: its longest fixed run is one byte
            "Lead:0:*:????5a5a5a", // two bytes of anything, then ZZZ
            "Trail:0:*:515151????", // QQQ, then two bytes of anything
            "AtFour:0:4:4b4c", // KL at offset 4 only
        ]);
        _signatures = ClamAvSignatures.Load(_dir.Path);
    }

    public void Dispose() => _dir.Dispose();

    string? Match(string content) => _signatures.Match(Encoding.ASCII.GetBytes(content));

    [Theory]
    [InlineData("A_C", "Middle")]
    [InlineData("xxAAAxAC", null)]
    [InlineData("AAAAAAAxC", "Middle")]
    [InlineData("ZZZ", null)]
    [InlineData("xZZZ", null)]
    [InlineData("xyZZZ", "Lead")]
    [InlineData("QQQx", null)]
    [InlineData("QQQxy", "Trail")]
    [InlineData("0123KL", "AtFour")]
    [InlineData("0123xKL", null)]
    [InlineData("KL", null)]
    [InlineData("", null)]
    public void Patterns_match_where_their_fixed_and_wildcard_bytes_do(string content, string? signature) =>
        Assert.Equal(signature, Match(content));

    [Fact]
    public void Eicar_is_found_at_the_end_of_a_megabyte_of_its_first_byte_and_not_in_the_megabyte_alone()
    {
        var xs = new string('X', 1 << 20);
        Assert.Null(Match(xs));
        Assert.Equal(ClamAvSignatures.EicarName, Match(xs + VirusScannerTests.Eicar));
        Assert.Equal(ClamAvSignatures.EicarName, Match(VirusScannerTests.Eicar));
        Assert.Null(Match(VirusScannerTests.Eicar[..^1]));
    }
}
