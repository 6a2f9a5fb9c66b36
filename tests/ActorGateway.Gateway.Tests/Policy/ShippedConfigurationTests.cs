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
        Assert.Equal(ActorGateway.Smtp.Protocol.BareLineEndingPolicy.Normalize, s.Smtp.Endpoints.Single().BareLineEndings);
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
        Assert.Equal(ActorGateway.Mail.Tenants.LoginFailureSettings.Default, s.AuthFailures);  // 5 in 10m, 15m lockout, 1s penalty
        Assert.Equal(10_000, s.AuthCacheSize);
        Assert.Equal(0.8, s.Smtp.StressThreshold);
        Assert.Equal(TimeSpan.FromSeconds(10), s.Smtp.StressCommandTimeout);
        Assert.Equal(TimeSpan.FromSeconds(10), s.Smtp.StressDataTimeout);
        Assert.Equal(TimeSpan.FromSeconds(1), s.Smtp.EvictIdleAfter);
    }

    [Fact]
    public void Idle_eviction_can_be_turned_off()
    {
        var config = Akka.Configuration.ConfigurationFactory.ParseString("gateway.smtp.evict-idle-after = off")
            .WithFallback(GatewayConfig.Load([]));
        Assert.Null(GatewayConfig.Read(config).Smtp.EvictIdleAfter);
    }

    [Theory]
    [InlineData("eu-de-01", "127.0.0.1", "good-gateway")]
    [InlineData("eu-de-02", "127.0.0.2", "good-gateway")]
    [InlineData("eu-de-03", "127.0.0.3", "bad-gateway")]
    public void Each_site_file_differs_only_in_its_address_roles_and_egress_pool(string site, string address, string poolRole)
    {
        var config = GatewayConfig.Load(GatewayConfig.SiteFiles(site));
        // The password stays out of the files: the connection string comes from the environment.
        Assert.Equal("", config.GetString("gateway.storage.connection-string"));
        Assert.Equal("ACTORGATEWAY_DB", config.GetString("gateway.storage.connection-string-env"));
        var s = GatewayConfig.Read(WithConnection(config));
        Assert.Equal(StorageProvider.PostgreSql, s.Storage);
        // Statements prepared once per connection unless the operator's connection string says otherwise.
        Assert.Equal("Host=127.0.0.1;Database=gw;Max Auto Prepare=64", s.ConnectionString);
        Assert.Equal("Host=127.0.0.1;Database=gw;max auto prepare=0", GatewayConfig.Read(ParseString(
            "gateway.storage.connection-string = \"Host=127.0.0.1;Database=gw;max auto prepare=0\"").WithFallback(config)).ConnectionString);
        Assert.False(s.SelfJoin);
        Assert.Equal(address, config.GetString("akka.remote.dot-netty.tcp.hostname"));
        Assert.Equal(4053, config.GetInt("akka.remote.dot-netty.tcp.port"));
        Assert.Equal(["smtp", poolRole], config.GetStringList("akka.cluster.roles"));
        Assert.Equal(3, config.GetStringList("akka.cluster.seed-nodes").Count);
        Assert.Equal(address, s.Smtp.Endpoints.Single().Address);
        Assert.Equal(poolRole == "bad-gateway" ? address : null, s.Pools.BadSource);
        Assert.Equal(poolRole == "good-gateway" ? address : null, s.Pools.GoodSource);
        Assert.Equal("keep-majority", config.GetString("akka.cluster.split-brain-resolver.active-strategy"));
        // Detection + decision + removal margin must leave room for the takeover within 15 s.
        var budget = config.GetTimeSpan("akka.cluster.failure-detector.acceptable-heartbeat-pause")
                     + config.GetTimeSpan("akka.cluster.failure-detector.heartbeat-interval")
                     + config.GetTimeSpan("akka.cluster.split-brain-resolver.stable-after")
                     + config.GetTimeSpan("akka.cluster.down-removal-margin");
        Assert.True(budget <= TimeSpan.FromSeconds(12), budget.ToString());
    }

    [Theory]
    [InlineData("eu-de-01", "172.30.0.11")]
    [InlineData("eu-de-03", "172.30.0.13")]
    public void The_compose_files_read_on_top_of_the_site_files(string site, string address)
    {
        var deploy = Path.Combine(RepositoryRoot(), "deploy", "compose");
        var config = GatewayConfig.Load([.. GatewayConfig.SiteFiles(site), Path.Combine(deploy, "compose.conf"), Path.Combine(deploy, site + ".conf")]);
        var s = GatewayConfig.Read(WithConnection(config));
        Assert.Equal(address, config.GetString("akka.remote.dot-netty.tcp.hostname"));
        Assert.Contains($"akka.tcp://actorgateway@{address}:4053", config.GetStringList("akka.cluster.seed-nodes"));
        Assert.Equal("0.0.0.0", s.Smtp.Endpoints.Single().Address);
        Assert.Equal(address, s.Pools.GoodSource ?? s.Pools.BadSource);
        Assert.Equal("clamd", s.Antivirus.Engine);
        Assert.Equal("rspamd", s.Antispam.Engine);
    }

    [Fact]
    public void Every_shipped_hocon_file_is_well_formed()
    {
        var root = RepositoryRoot();
        var files = Directory.GetFiles(Path.Combine(root, "hocon"), "*.conf").Concat(Directory.GetFiles(Path.Combine(root, "deploy", "compose"), "*.conf")).ToArray();
        Assert.NotEmpty(files);
        foreach (var file in files)
            Assert.True(HoconSyntax.Check(File.ReadAllText(file)) is null, $"{file}: {HoconSyntax.Check(File.ReadAllText(file))}");
    }

    // Stands in for the environment variable (setting it here would leak into other tests' nodes).
    static Akka.Configuration.Config WithConnection(Akka.Configuration.Config config) =>
        ParseString("gateway.storage.connection-string = \"Host=127.0.0.1;Database=gw\"").WithFallback(config);

    static Akka.Configuration.Config ParseString(string hocon) => Akka.Configuration.ConfigurationFactory.ParseString(hocon);

    static string RepositoryRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "ActorGateway.sln"))) return d.FullName;
        throw new DirectoryNotFoundException("repository root not found");
    }
}
