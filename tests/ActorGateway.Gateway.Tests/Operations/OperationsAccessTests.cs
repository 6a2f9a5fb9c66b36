using ActorGateway.Node.Operations;

namespace ActorGateway.Gateway.Tests.Operations;

/// <summary>Who may read and who may change through the operations endpoint, decided on the Authorization header alone.</summary>
public sealed class OperationsAccessTests
{
    static readonly OperationsAccess Both = new("ops-secret", "read-secret");

    [Fact]
    public void The_read_token_and_the_operations_token_may_read()
    {
        Assert.Null(Both.ToRead("Bearer read-secret"));
        Assert.Null(Both.ToRead("Bearer ops-secret"));
        Assert.Null(Both.ToRead("bearer ops-secret")); // the scheme is case-insensitive (RFC 9110)
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("Bearer")]
    [InlineData("Bearer ")]
    [InlineData("Bearer read-secre")]
    [InlineData("Bearer read-secret2")]
    [InlineData("Basic cmVhZC1zZWNyZXQ=")]
    [InlineData("read-secret")]
    public void A_missing_or_wrong_token_may_not_read(string? header)
    {
        var refusal = Both.ToRead(header);
        Assert.Equal(401, refusal?.StatusCode);
        Assert.Contains("a valid read or operations token is required", refusal!.Text);
    }

    [Fact]
    public void Only_the_operations_token_may_change()
    {
        Assert.Null(Both.ToChange("Bearer ops-secret"));
        Assert.Equal(new AccessRefusal(403, "the read token may only read: changes need the operations token"), Both.ToChange("Bearer read-secret"));
        Assert.Equal(401, Both.ToChange(null)?.StatusCode);
        Assert.Equal(401, Both.ToChange("Bearer nonsense")?.StatusCode);
    }

    [Fact]
    public void Without_a_token_configured_the_requests_it_would_allow_are_refused_for_everyone()
    {
        var none = new OperationsAccess(null, null);
        Assert.Equal(403, none.ToRead("Bearer anything")?.StatusCode);
        Assert.Contains("no read token or operations token is configured", none.ToRead(null)!.Text);
        Assert.Equal(403, none.ToChange("Bearer anything")?.StatusCode);

        // A read token alone: reading works, changes are disabled for everyone.
        var readOnly = new OperationsAccess(null, "read-secret");
        Assert.Null(readOnly.ToRead("Bearer read-secret"));
        Assert.Equal(new AccessRefusal(403, "changes are disabled: no operations token is configured"), readOnly.ToChange("Bearer read-secret"));

        // An empty token is no token: it never matches an empty header.
        var empty = new OperationsAccess("", "");
        Assert.Equal(403, empty.ToRead("Bearer ")?.StatusCode);
    }
}
