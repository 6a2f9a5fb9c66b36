using ActorGateway.Node.Configuration;

namespace ActorGateway.Gateway.Tests.Policy;

/// <summary>The configuration shipped in hocon/ must read cleanly: it is what `dotnet run` starts with.</summary>
public sealed class ShippedConfigurationTests
{
    [Fact]
    public void The_defaults_read_into_settings_an_operator_expects()
    {
        var s = GatewayConfig.Read(GatewayConfig.Load([]));
        Assert.Equal("127.0.0.1", s.Smtp.Endpoints.Single().Address);
        Assert.Equal(2525, s.Smtp.Endpoints.Single().Port);
        Assert.Equal(StorageProvider.Sqlite, s.Storage);
        Assert.Equal(25, s.Delivery.Port);
        Assert.Equal(TimeSpan.FromDays(5), s.Delivery.Retry.MaxLifetime);
        Assert.Equal("local", s.Tenants.Single().Id);
        Assert.Equal("builtin", s.Antivirus.Engine);
        Assert.Equal(ScannerFailureAction.Tempfail, s.Antivirus.OnFailure);
        Assert.Single(s.Antispam.Rules);
        Assert.Null(s.TlsPolicy.Find("a.example", "b.example")); // no rule: opportunistic
        Assert.Empty(s.DkimKeys);
        Assert.False(s.Tenants.Single().RateLimit.Enabled);  // off unless enabled
    }
}
