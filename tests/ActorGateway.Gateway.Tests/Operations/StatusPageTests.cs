using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using ActorGateway.Gateway.Tests.Support;
using ActorGateway.Testing;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace ActorGateway.Gateway.Tests.Operations;

/// <summary>
/// The operator's status page in a real browser (Debian's Chromium, headless): the real node,
/// mail sent with swaks, one recipient refused by the receiving MTA. What is asserted is what a
/// person sees: the rendered text of the page. A screenshot is kept under the test's output
/// directory (TestResults/), its path printed.
/// </summary>
public sealed class StatusPageTests(ITestOutputHelper output)
{
    static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task The_page_shows_the_cluster_pools_queue_tenants_and_the_latest_mail_and_refreshes_without_a_reload()
    {
        // A destination is shown while this node keeps it (until it has been idle this long).
        // down.example's MX is an address where nothing listens: its mail stays queued, its destination fails.
        // The tenant "local" has a rate limit, so that its use is shown.
        await using var bed = await GatewayTestbed.StartAsync(
            extraHocon: "gateway.delivery.idle-connection-timeout = 60s\ngateway.tenants.local.rate-limit { enabled = on, per-minute = 100 }",
            extraDns: ["mx-host=down.example,mx.down.example,10", "host-record=mx.down.example,127.0.0.9"]);
        var node = $"http://127.0.0.1:{bed.OperationsPort}";
        using var http = new HttpClient { BaseAddress = new Uri(node), Timeout = TimeSpan.FromSeconds(15) };

        // The page itself is static: served without a token, no data in it.
        using (var bare = await http.GetAsync("/status"))
        {
            Assert.Equal(HttpStatusCode.OK, bare.StatusCode);
            Assert.Equal("text/html", bare.Content.Headers.ContentType?.MediaType);
            Assert.Contains("default-src 'none'", bare.Headers.GetValues("Content-Security-Policy").Single());
            Assert.DoesNotContain("rcpt.example", await bare.Content.ReadAsStringAsync());
        }

        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", GatewayTestbed.OperationsToken);
        await SendAsync(bed, "bob@rcpt.example");
        await SendAsync(bed, "reject-status@rcpt.example");
        await SendAsync(bed, "dave@down.example");
        await Eventually.WaitAsync(async () => (await http.GetStringAsync("/api/log")) is var log
                && log.Contains("bob@rcpt.example") && log.Contains("reject-status@rcpt.example"),
            Wait, () => $"both messages are not in the delivery log\n{bed.Gateway.Output}");
        var self = JsonDocument.Parse(await http.GetStringAsync("/api/cluster/members")).RootElement.EnumerateArray()
            .Single(m => m.GetProperty("self").GetBoolean()).GetProperty("address").GetString()!;

        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.NewPageAsync();
        var requested = new System.Collections.Concurrent.ConcurrentQueue<string>();
        page.Request += (_, request) => requested.Enqueue(request.Url);
        await page.GotoAsync($"{node}/status#token={GatewayTestbed.OperationsToken}");

        await TextAsync(page, "#cluster", self, "Up", "(this node)");
        await TextAsync(page, "#pools", "pool good", "pool bad", "in service");
        await TextAsync(page, "#destinations", "rcpt.example", "down.example", "failure", "refused");
        await TextAsync(page, "#tenants", "local", "100 / min", "3 / 100", "authed", "no limit");
        await TextAsync(page, "#queue", "messages queued", "age of the oldest message", "down.example", "local", "good");
        await TextAsync(page, "#blacklists", "current listings");
        await TextAsync(page, "#deliveries", "bob@rcpt.example", "250");
        await TextAsync(page, "#bounces", "reject-status@rcpt.example", "550");
        Assert.DoesNotContain("token", page.Url); // taken out of the address bar
        Assert.Equal("", (await page.InnerTextAsync("#notice")).Trim());
        // The token travels in the Authorization header only, never in a URL that a log could keep.
        Assert.Contains(requested, u => u.Contains("/api/queue/summary"));
        Assert.DoesNotContain(requested, u => u.Contains(GatewayTestbed.OperationsToken));

        // A new mail shows up by itself: same document (a reload would lose the mark), no navigation.
        await page.EvaluateAsync("() => { window.sameDocument = true; }");
        await SendAsync(bed, "carol@rcpt.example");
        await TextAsync(page, "#deliveries", "carol@rcpt.example");
        Assert.True(await page.EvaluateAsync<bool>("() => window.sameDocument === true"), "the page was reloaded");

        var shot = Screenshot("status-page.png");
        await page.ScreenshotAsync(new() { Path = shot, FullPage = true });
        output.WriteLine($"screenshot: {shot}");

        // A wrong token: the refusal is said plainly and no data is shown.
        var refused = await chromium.NewPageAsync();
        await refused.GotoAsync($"{node}/status#token=not-the-token");
        await TextAsync(refused, "#notice", "Access refused (401 Unauthorized)", "not accepted");
        Assert.DoesNotContain("bob@rcpt.example", await refused.InnerTextAsync("body"));
        await refused.ScreenshotAsync(new() { Path = Screenshot("status-page-refused.png") });

        // The right token given in the form: the data comes back.
        await refused.FillAsync("#token", GatewayTestbed.OperationsToken);
        await refused.ClickAsync("#use-token");
        await TextAsync(refused, "#deliveries", "bob@rcpt.example", "carol@rcpt.example");
        Assert.Equal("", (await refused.InnerTextAsync("#notice")).Trim());
    }

    static async Task SendAsync(GatewayTestbed bed, string to)
    {
        var sent = await Swaks.SendAsync(bed.SmtpPort, "alice@sender.example", to);
        Assert.True(sent.ExitCode == 0, sent.ToString());
    }

    /// <summary>Waits until the rendered text of <paramref name="selector"/> holds every one of <paramref name="texts"/>.</summary>
    static async Task TextAsync(IPage page, string selector, params string[] texts)
    {
        var seen = "";
        await Eventually.WaitAsync(async () =>
            {
                seen = await page.InnerTextAsync(selector);
                return texts.All(seen.Contains);
            },
            Wait, () => $"{selector} does not show [{string.Join(", ", texts.Where(t => !seen.Contains(t)))}]; it shows:\n{seen}");
    }

    static string Screenshot(string name)
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "TestResults");
        Directory.CreateDirectory(dir);
        return Path.Combine(dir, name);
    }
}
