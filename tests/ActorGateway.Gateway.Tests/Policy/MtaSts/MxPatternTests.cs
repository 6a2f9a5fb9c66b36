using ActorGateway.Mail.Delivery.MtaSts;

namespace ActorGateway.Gateway.Tests.Policy.MtaSts;

/// <summary>RFC 8461 4.1: an mx pattern is a host name or a wildcard for exactly one leftmost label.</summary>
public sealed class MxPatternTests
{
    [Theory]
    [InlineData("mail.example.com", "mail.example.com", true)]
    [InlineData("mail.example.com", "MAIL.Example.com.", true)]
    [InlineData("mail.example.com", "mail2.example.com", false)]
    [InlineData("*.example.com", "mx1.example.com", true)]
    [InlineData("*.example.com", "a.b.example.com", false)]
    [InlineData("*.example.com", "example.com", false)]
    [InlineData("*.example.com", "mx1.example.com.evil", false)]
    [InlineData("*.example.com", "mx1.badexample.com", false)]
    public void Matches(string pattern, string host, bool expected) => Assert.Equal(expected, MxPattern.Matches(pattern, host));
}
