using ActorGateway.Gateway.Tests.Support;
using ActorGateway.Mail.Tenants;
using ActorGateway.Testing;

namespace ActorGateway.Gateway.Tests.EndToEnd;

/// <summary>
/// SMTP AUTH against password guessing, with swaks over STARTTLS against the real node: a
/// penalty delay before every 535, a 454 lockout per client address after too many failures,
/// the cache of verified logins following a reloaded hash, and the hash iteration counts.
/// </summary>
public sealed class LoginAbuseTests
{
    const int MaxFailures = 3;
    static readonly TimeSpan Delay = TimeSpan.FromSeconds(1), Lockout = TimeSpan.FromSeconds(8);
    static readonly string Limits = $"gateway.smtp.auth-failures {{ max = {MaxFailures}, window = 1m, lockout = {Lockout.TotalSeconds}s, delay = {Delay.TotalMilliseconds}ms }}";
    const string Guess = "guess-7Kq2zW";

    static Task<ExternalProcess> LoginAsync(GatewayTestbed bed, string user, string password, string source = "127.0.0.1") =>
        Swaks.SendAsync(bed.SmtpPort, TimeSpan.FromSeconds(20), "app@authed.example", "bob@rcpt.example",
            "--local-interface", source, "--tls", "--auth", "PLAIN", "--auth-user", user, "--auth-password", password, "--quit-after", "AUTH",
            "--show-time-lapse");

    /// <summary>How long the server took to answer AUTH (swaks times each reply; AUTH PLAIN is one command line).</summary>
    static TimeSpan AuthResponseTime(ExternalProcess swaks)
    {
        var lines = swaks.StandardOutput.Split('\n');
        var reply = Array.FindIndex(lines, l => l.Contains(AuthReply(swaks)));
        var lapse = lines.Take(reply).Last(l => l.StartsWith("=== response in "));
        return TimeSpan.FromSeconds(double.Parse(lapse["=== response in ".Length..].Trim().TrimEnd('s'), System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>The server's answer to AUTH.</summary>
    static string AuthReply(ExternalProcess swaks) =>
        swaks.Replies().FirstOrDefault(r => r.StartsWith("235") || r.StartsWith("535") || r.StartsWith("454 4.7.0 Too many")) ?? swaks.ToString();

    [Fact]
    public async Task After_max_failures_the_address_is_refused_at_auth_even_with_the_right_password_until_the_lockout_ends()
    {
        await using var bed = await GatewayTestbed.StartAsync(extraHocon: Limits);
        // The penalty is on failures only: the right password is answered at once.
        var good = await LoginAsync(bed, GatewayTestbed.AuthUser, GatewayTestbed.AuthPassword, source: "127.0.0.3");
        Assert.Equal("235 2.7.0 Authentication successful", AuthReply(good));
        Assert.True(AuthResponseTime(good) < Delay, good.StandardOutput);
        for (var i = 1; i <= MaxFailures; i++)
        {
            var bad = await LoginAsync(bed, GatewayTestbed.AuthUser, Guess);
            Assert.Equal("535 5.7.8 Authentication credentials invalid", AuthReply(bad));
            // No 535 before the delay has passed (less 20 ms: swaks' clock and the node's timer round differently; seen: 0.999 s).
            Assert.True(AuthResponseTime(bad) >= Delay - TimeSpan.FromMilliseconds(20), $"a failed AUTH was answered in {AuthResponseTime(bad)}, before the {Delay} penalty");
        }

        var locked = await LoginAsync(bed, GatewayTestbed.AuthUser, GatewayTestbed.AuthPassword);
        Assert.Equal("454 4.7.0 Too many failed logins from 127.0.0.1, try again later", AuthReply(locked));
        // Another address is not locked out by this one's failures.
        Assert.Equal("235 2.7.0 Authentication successful", AuthReply(await LoginAsync(bed, GatewayTestbed.AuthUser, GatewayTestbed.AuthPassword, source: "127.0.0.2")));

        string last = "";
        await Eventually.WaitAsync(async () => (last = AuthReply(await LoginAsync(bed, GatewayTestbed.AuthUser, GatewayTestbed.AuthPassword))).StartsWith("235"),
            Lockout + TimeSpan.FromSeconds(15), () => $"still refused after the lockout: {last}");

        // What an operator greps for: address, user, count, lockout end; never the password.
        Assert.Matches($@"AUTH failed: client=127\.0\.0\.1 user={GatewayTestbed.AuthUser} failures=1/{MaxFailures} within 00:01:00", bed.Gateway.Output);
        Assert.Matches($@"AUTH failed: client=127\.0\.0\.1 user={GatewayTestbed.AuthUser} failures={MaxFailures} within 00:01:00: locked out until \d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\dZ", bed.Gateway.Output);
        Assert.Matches(@"AUTH refused: client=127\.0\.0\.1 locked out until", bed.Gateway.Output);
        Assert.DoesNotContain(Guess, bed.Gateway.Output);
        Assert.DoesNotContain(GatewayTestbed.AuthPassword, bed.Gateway.Output);
    }

    [Fact]
    public async Task A_new_hash_has_600000_iterations_and_an_older_100000_iteration_hash_still_logs_in()
    {
        var made = await ExternalProcess.RunAsync("dotnet", [GatewayProcess.NodeAssembly, "hash-password"], TimeSpan.FromSeconds(30), stdin: "n3w-pass\n");
        var fresh = made.StandardOutput.Trim();
        Assert.StartsWith("pbkdf2-sha256$600000$", fresh);
        Assert.Equal(600_000, PasswordHash.IterationsOf(fresh));
        var older = PasswordHash.Create("0ld-pass", 100_000);

        await using var bed = await GatewayTestbed.StartAsync(extraHocon: $$"""gateway.tenants.authed.users { "fresh" = "{{fresh}}", "older" = "{{older}}" }""");
        Assert.Equal("235 2.7.0 Authentication successful", AuthReply(await LoginAsync(bed, "fresh", "n3w-pass")));
        Assert.Equal("235 2.7.0 Authentication successful", AuthReply(await LoginAsync(bed, "older", "0ld-pass")));
        Assert.Equal("535 5.7.8 Authentication credentials invalid", AuthReply(await LoginAsync(bed, "older", "n3w-pass")));
    }

    [Fact]
    public async Task A_remembered_login_no_longer_passes_once_a_reload_changed_its_hash()
    {
        await using var bed = await GatewayTestbed.StartAsync(extraHocon: Limits);
        for (var i = 0; i < 2; i++) // the second one from the cache
            Assert.Equal("235 2.7.0 Authentication successful", AuthReply(await LoginAsync(bed, GatewayTestbed.AuthUser, GatewayTestbed.AuthPassword)));

        await bed.AppendConfigAsync($$"""gateway.tenants.authed.users { "{{GatewayTestbed.AuthUser}}" = "{{PasswordHash.Create("r0tated", 1000)}}" }""");
        await bed.Gateway.ReloadAsync();
        await bed.Gateway.WaitForLogAsync(@"configuration reloaded: 2 tenant\(s\)");

        Assert.Equal("535 5.7.8 Authentication credentials invalid", AuthReply(await LoginAsync(bed, GatewayTestbed.AuthUser, GatewayTestbed.AuthPassword)));
        Assert.Equal("235 2.7.0 Authentication successful", AuthReply(await LoginAsync(bed, GatewayTestbed.AuthUser, "r0tated")));
    }
}
