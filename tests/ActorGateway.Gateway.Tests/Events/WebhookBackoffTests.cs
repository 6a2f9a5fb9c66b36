using ActorGateway.Mail.Events;

namespace ActorGateway.Gateway.Tests.Events;

public sealed class WebhookBackoffTests
{
    [Fact]
    public void Doubles_from_the_initial_delay_up_to_the_cap()
    {
        var backoff = new WebhookBackoff(TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(1), TimeSpan.FromDays(1));
        Assert.Equal([5, 10, 20, 40, 60, 60], Enumerable.Range(1, 6).Select(n => backoff.DelayAfter(n).TotalSeconds));
        Assert.Equal(TimeSpan.FromMinutes(1), backoff.DelayAfter(10_000)); // no overflow however long it fails
        Assert.Equal(TimeSpan.Zero, backoff.DelayAfter(0));
    }

    [Fact]
    public void An_event_past_its_maximum_age_is_too_old()
    {
        var backoff = new WebhookBackoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), TimeSpan.FromHours(1));
        var at = new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
        Assert.False(backoff.IsTooOld(at, at.AddMinutes(59)));
        Assert.True(backoff.IsTooOld(at, at.AddMinutes(61)));
    }
}
