namespace ActorGateway.Gateway.Tests.Support;

/// <summary>Waits for a condition that other processes make true, with a bound and a message that says what was missing.</summary>
public static class Eventually
{
    public static async Task WaitAsync(Func<bool> condition, TimeSpan timeout, Func<string> failure)
    {
        var until = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > until) throw new TimeoutException(failure());
            await Task.Delay(200);
        }
    }

    /// <summary>The same for a condition that has to ask another process (an API, a command line).</summary>
    public static async Task WaitAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<string> failure)
    {
        var until = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > until) throw new TimeoutException(failure());
            await Task.Delay(200);
        }
    }
}
