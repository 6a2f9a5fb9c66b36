using Microsoft.Playwright;

namespace ActorGateway.Testing;

/// <summary>
/// Debian's Chromium, headless, driven by Playwright (its bundled driver; no browser is
/// downloaded): a page as a person sees it. Disposing closes the browser and the driver.
/// </summary>
public sealed class Chromium : IAsyncDisposable
{
    readonly IPlaywright _playwright;
    public IBrowser Browser { get; }

    Chromium(IPlaywright playwright, IBrowser browser) { _playwright = playwright; Browser = browser; }

    public static async Task<Chromium> LaunchAsync()
    {
        var exe = ExternalProcess.Require("chromium", "chromium");
        var playwright = await Playwright.CreateAsync();
        try
        {
            var browser = await playwright.Chromium.LaunchAsync(new()
            {
                ExecutablePath = exe, Timeout = 30_000,
                // As root Chromium needs --no-sandbox; the rest keeps it from reaching out to the network.
                Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync"],
            });
            return new Chromium(playwright, browser);
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }

    /// <summary>A new page in a fresh context (its own session storage), with bounded waits.</summary>
    public async Task<IPage> NewPageAsync(int width = 1400, int height = 900)
    {
        var context = await Browser.NewContextAsync(new() { ViewportSize = new() { Width = width, Height = height } });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(15_000);
        page.SetDefaultNavigationTimeout(15_000);
        return page;
    }

    public async ValueTask DisposeAsync()
    {
        try { await Browser.CloseAsync(); }
        finally { _playwright.Dispose(); }
    }
}
