using ActorGateway.Node.Configuration;
using ActorGateway.Testing;
using Akka.Configuration;

namespace ActorGateway.Gateway.Tests.Events;

/// <summary>A tenant's webhook in the HOCON: read with its secret, and every mistake named by its key.</summary>
public sealed class WebhookSettingTests
{
    static GatewaySettings Read(string hocon) => GatewayConfig.Read(ConfigurationFactory.ParseString(hocon).WithFallback(GatewayConfig.Load([])));

    [Fact]
    public void A_webhook_is_read_with_its_secret_and_all_events_by_default()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("secret"), "s3cret\n");
        var settings = Read($$"""gateway.tenants.t { webhook { url = "https://hooks.example/events", secret-file = "{{dir.File("secret")}}" } }""");
        var hook = settings.Tenants.Single(t => t.Id == "t").Webhook!;
        Assert.Equal("https://hooks.example/events", hook.Url.ToString());
        Assert.Equal("s3cret", hook.Secret);
        Assert.Equal(["bounced", "deferred", "delivered", "refused"], hook.Events.Order());
        Assert.DoesNotContain("s3cret", hook.ToString());
        Assert.Null(settings.Tenants.Single(t => t.Id == "local").Webhook);
    }

    [Fact]
    public void Events_and_retry_settings_can_be_chosen()
    {
        Environment.SetEnvironmentVariable("ACTORGATEWAY_TEST_WEBHOOK_SECRET", "from-env");
        var settings = Read("""
            gateway.tenants.t { webhook { url = "http://127.0.0.1:9/e", secret-env = ACTORGATEWAY_TEST_WEBHOOK_SECRET, events = [bounced, refused] } }
            gateway.webhooks { initial-backoff = 2s, max-backoff = 1m, max-age = 1d, timeout = 3s, wake-interval = 10s }
            """);
        var hook = settings.Tenants.Single(t => t.Id == "t").Webhook!;
        Assert.Equal("from-env", hook.Secret);
        Assert.True(hook.Wants("bounced") && hook.Wants("refused") && !hook.Wants("delivered") && !hook.Wants("deferred"));
        Assert.Equal(TimeSpan.FromSeconds(2), settings.Webhooks.Backoff.Initial);
        Assert.Equal(TimeSpan.FromMinutes(1), settings.Webhooks.Backoff.Max);
        Assert.Equal(TimeSpan.FromDays(1), settings.Webhooks.Backoff.MaxAge);
        Assert.Equal(TimeSpan.FromSeconds(3), settings.Webhooks.Timeout);
        Assert.Equal(TimeSpan.FromSeconds(10), settings.Webhooks.WakeInterval);
    }

    [Theory]
    [InlineData("gateway.tenants.t { webhook { url = \"ftp://x.example/\", secret-env = PATH } }", "gateway.tenants.t.webhook.url", "is not an http or https URL")]
    [InlineData("gateway.tenants.t { webhook { url = \"https://x.example/\" } }", "gateway.tenants.t.webhook.secret-file", "needs secret-file or secret-env")]
    [InlineData("gateway.tenants.t { webhook { url = \"https://x.example/\", secret-env = ACTORGATEWAY_NO_SUCH_VARIABLE } }", "gateway.tenants.t.webhook.secret-env", "gives no secret")]
    [InlineData("gateway.tenants.t { webhook { url = \"https://x.example/\", secret-file = \"/nonexistent/s\" } }", "gateway.tenants.t.webhook.secret-file", "no such file")]
    [InlineData("gateway.tenants.t { webhook { url = \"https://x.example/\", secret-env = PATH, events = [opened] } }", "gateway.tenants.t.webhook.events", "'opened' is not one of")]
    [InlineData("gateway.tenants.t { webhook { url = \"https://x.example/\", secret-env = PATH, retries = 3 } }", "gateway.tenants.t.webhook.retries", "unknown key")]
    [InlineData("gateway.webhooks.max-backoff = 1s\ngateway.webhooks.initial-backoff = 5s", "gateway.webhooks", "max-backoff at least initial-backoff")]
    public void A_bad_webhook_setting_names_its_key(string hocon, string key, string problem)
    {
        var error = Assert.Throws<BadConfigurationException>(() => Read(hocon));
        Assert.Equal(key, error.Key);
        Assert.Contains(problem, error.Problem);
    }
}
