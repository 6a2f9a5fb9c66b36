using ActorGateway.Node.Configuration;
using Akka.Configuration;

namespace ActorGateway.Gateway.Tests.Policy;

/// <summary>gateway.delivery.dane: on unless turned off (it acts only on answers a validating resolver vouches for).</summary>
public sealed class DaneSettingTests
{
    [Theory]
    [InlineData("", true)]
    [InlineData("gateway.delivery.dane = off", false)]
    [InlineData("gateway.delivery.dane = on", true)]
    public void Dane_is_on_by_default_and_can_be_turned_off(string hocon, bool expected)
    {
        var config = ConfigurationFactory.ParseString(hocon).WithFallback(GatewayConfig.Load([]));
        Assert.Equal(expected, GatewayConfig.Read(config).Delivery.Dane);
    }
}
