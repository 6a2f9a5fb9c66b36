using ActorGateway.Node.Configuration;
using ActorGateway.Smtp.Protocol;
using Akka.Configuration;

namespace ActorGateway.Gateway.Tests.Policy;

/// <summary>gateway.smtp.bare-line-endings: a default for every listener, overridden per listener, nothing else accepted.</summary>
public sealed class BareLineEndingSettingTests
{
    static GatewaySettings Read(string hocon) =>
        GatewayConfig.Read(ConfigurationFactory.ParseString(hocon).WithFallback(GatewayConfig.Load([])));

    [Fact]
    public void Listeners_inherit_the_default_unless_they_set_their_own()
    {
        var s = Read("""
            gateway.smtp.bare-line-endings = reject
            gateway.smtp.endpoints = [
              { name = "strict", port = 2525 }
              { name = "legacy", port = 2526, bare-line-endings = normalize }
            ]
            """);
        Assert.Equal(BareLineEndingPolicy.Reject, s.Smtp.Endpoints.Single(e => e.Name == "strict").BareLineEndings);
        Assert.Equal(BareLineEndingPolicy.Normalize, s.Smtp.Endpoints.Single(e => e.Name == "legacy").BareLineEndings);
    }

    [Theory]
    [InlineData("gateway.smtp.bare-line-endings = allow", "gateway.smtp.bare-line-endings: 'allow' is not normalize or reject")]
    [InlineData("gateway.smtp.endpoints = [ { name = x, bare-line-endings = keep } ]", "gateway.smtp.endpoints[0].bare-line-endings: 'keep' is not normalize or reject")]
    public void Any_other_value_stops_the_start_with_a_clear_message(string hocon, string message)
    {
        var e = Assert.Throws<BadConfigurationException>(() => Read(hocon));
        Assert.Equal(message, e.Message);
    }
}
