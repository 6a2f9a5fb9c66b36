using ActorGateway.Node.Configuration;
using Akka.Configuration;

namespace ActorGateway.Gateway.Tests.Policy;

/// <summary>Reading the settings: a value the node cannot use is reported with its full key path and the problem.</summary>
public sealed class SettingsErrorTests
{
    [Theory]
    [InlineData("gateway.delivery.retry-delays = [1m, later]", "gateway.delivery.retry-delays", "is not a list of durations")]
    [InlineData("gateway.smtp.endpoints = [ { port = many } ]", "gateway.smtp.endpoints[0].port", "'many' is not a whole number")]
    [InlineData("gateway.smtp.endpoints = [ 2525 ]", "gateway.smtp.endpoints[0]", "must be an object")]
    [InlineData("gateway.dkim.keys { \"a.example\" { selector = s, algorithm = md5, key = k.pem } }", "gateway.dkim.keys.\"a.example\".algorithm", "'md5' is not rsa-sha256 or ed25519-sha256")]
    [InlineData("gateway.dkim.keys { \"a.example\" { selector = s, keyfile = k.pem } }", "gateway.dkim.keys.\"a.example\".keyfile", "unknown key")]
    [InlineData("gateway.delivery.routes { \"a.example\" = [x] }", "gateway.delivery.routes.\"a.example\"", "must be a string")]
    [InlineData("gateway.tenants.t { users { app = { hash = x } } }", "gateway.tenants.t.users.app", "must be a string")]
    [InlineData("gateway.tenants.t { networks = [\"10.0.0.0/33\"] }", "gateway.tenants.t.networks", "is not a network in CIDR notation")]
    [InlineData("gateway.tenants.t { password-file = \"/nonexistent/t.passwd\" }", "gateway.tenants.t.password-file", "/nonexistent/t.passwd: no such file")]
    [InlineData("gateway.tenants.t { rate-limit { enabled = on, per-minute = 0 } }", "gateway.tenants.t.rate-limit.per-minute", "must be at least 1")]
    [InlineData("gateway.blacklists.zones = [ { zone = z.example, listed = [\"127.0.0.x\"] } ]", "gateway.blacklists.zones[0].listed", "'127.0.0.x' is not an IP address")]
    [InlineData("gateway.scanning.antivirus.engine = sophos", "gateway.scanning.antivirus.engine", "'sophos' is not builtin or clamd")]
    [InlineData("gateway.delivery.destinations { \"a.example\" { max-concurrency = 0 } }", "gateway.delivery.destinations.\"a.example\"", "must be at least 1")]
    [InlineData("gateway.smtp = 5", "gateway.smtp", "an object")]
    [InlineData("gateway.delivery.tls.ca-file = \"/nonexistent/ca.pem\"", "gateway.delivery.tls.ca-file", "/nonexistent/ca.pem: no such file")]
    [InlineData("gateway.delivery.mta-sts.policy-port = 70000", "gateway.delivery.mta-sts.policy-port", "must be a port number")]
    [InlineData("gateway.delivery.mta-sts.max-policy-size = 10", "gateway.delivery.mta-sts.max-policy-size", "must be at least 64 bytes")]
    [InlineData("gateway.delivery.mta-sts.enable = off", "gateway.delivery.mta-sts.enable", "unknown key")]
    [InlineData("gateway.delivery.tls-rpt.schedule = \"daily\"", "gateway.delivery.tls-rpt.schedule", "is not a usable cron schedule")]
    [InlineData("gateway.delivery.tls-rpt.rua = x", "gateway.delivery.tls-rpt.rua", "unknown key")]
    [InlineData("gateway.delivery.dane = maybe", "gateway.delivery.dane", "on or off")]
    [InlineData("gateway.queue.delete-interval = 0s", "gateway.queue.delete-interval", "must be more than 0")]
    public void A_bad_value_names_its_key_and_the_problem(string hocon, string key, string problem)
    {
        var config = ConfigurationFactory.ParseString(hocon).WithFallback(GatewayConfig.Load([]));
        var error = Assert.Throws<BadConfigurationException>(() => GatewayConfig.Read(config));
        Assert.Equal(key, error.Key);
        Assert.Contains(problem, error.Problem);
    }
}
