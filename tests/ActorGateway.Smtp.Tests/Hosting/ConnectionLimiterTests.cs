using System.Net;
using ActorGateway.Smtp.Hosting;
using ActorGateway.Smtp.Protocol;

namespace ActorGateway.Smtp.Tests.Hosting;

public sealed class ConnectionLimiterTests
{
    static readonly IPAddress A = IPAddress.Parse("192.0.2.1"), B = IPAddress.Parse("192.0.2.2");

    [Fact]
    public void At_the_limit_a_client_is_admitted_only_when_room_is_made()
    {
        var limiter = new ConnectionLimiter(maxTotal: 2, maxPerClient: 5);
        Assert.Null(limiter.TryAcquire(A));
        Assert.Null(limiter.TryAcquire(A));
        Assert.Same(SmtpReply.TooManyConnections, limiter.TryAcquire(B, () => false));
        Assert.Equal(2, limiter.Open);
        Assert.Null(limiter.TryAcquire(B, () => true));
        Assert.Equal(3, limiter.Open); // until the evicted session releases its slot
        limiter.Release(A);
        Assert.Equal(2, limiter.Open);
    }

    [Fact]
    public void A_client_over_its_own_limit_makes_no_room()
    {
        var limiter = new ConnectionLimiter(maxTotal: 1, maxPerClient: 1);
        Assert.Null(limiter.TryAcquire(A));
        var evicted = false;
        Assert.Same(SmtpReply.TooManyConnectionsFromClient, limiter.TryAcquire(A, () => evicted = true));
        Assert.False(evicted);
        Assert.Equal(1, limiter.Open);
        limiter.Release(A);
        Assert.Null(limiter.TryAcquire(A));
    }
}
