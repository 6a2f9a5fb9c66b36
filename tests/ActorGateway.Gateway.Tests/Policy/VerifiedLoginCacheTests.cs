using System.Net;
using ActorGateway.Mail.Tenants;

namespace ActorGateway.Gateway.Tests.Policy;

public sealed class VerifiedLoginCacheTests
{
    [Fact]
    public void An_entry_matches_only_the_same_login_password_and_stored_hash()
    {
        var cache = new VerifiedLoginCache(10);
        cache.Add("app", "s3cret", "hash-1");
        Assert.True(cache.Contains("app", "s3cret", "hash-1"));
        Assert.False(cache.Contains("app", "S3cret", "hash-1"));
        Assert.False(cache.Contains("app2", "s3cret", "hash-1"));
        Assert.False(cache.Contains("app", "s3cret", "hash-2"));  // the configured hash changed
        // Fields are length-prefixed: shifting characters between them is another entry.
        Assert.False(cache.Contains("ap", "ps3cret", "hash-1"));
    }

    [Fact]
    public void The_least_recently_used_entry_leaves_first_and_size_0_caches_nothing()
    {
        var cache = new VerifiedLoginCache(2);
        cache.Add("a", "p", "h");
        cache.Add("b", "p", "h");
        Assert.True(cache.Contains("a", "p", "h"));
        cache.Add("c", "p", "h");
        Assert.Equal(2, cache.Count);
        Assert.True(cache.Contains("a", "p", "h"));
        Assert.False(cache.Contains("b", "p", "h"));
        Assert.True(cache.Contains("c", "p", "h"));

        var off = new VerifiedLoginCache(0);
        off.Add("a", "p", "h");
        Assert.False(off.Contains("a", "p", "h"));
    }

    static Tenant Acme(string hash) => new("acme", Array.Empty<IPNetwork>(), new Dictionary<string, string> { ["app"] = hash }, ["acme.example"], new RateLimitSettings());

    [Fact]
    public void The_directory_caches_only_successes_and_a_reloaded_hash_ignores_the_old_entry()
    {
        var cache = new VerifiedLoginCache(10);
        var before = new TenantDirectory([Acme(PasswordHash.Create("old", 1000))]);
        Assert.Null(before.Authenticate("app", "wrong", cache));
        Assert.Null(before.Authenticate("nobody", "old", cache));
        Assert.Equal(0, cache.Count);
        Assert.Equal("acme", before.Authenticate("app", "old", cache)!.Id);
        Assert.Equal(1, cache.Count);
        Assert.Equal("acme", before.Authenticate("app", "old", cache)!.Id);

        // As after a configuration reload: same login, new hash.
        var after = new TenantDirectory([Acme(PasswordHash.Create("new", 1000))]);
        Assert.Null(after.Authenticate("app", "old", cache));
        Assert.Equal("acme", after.Authenticate("app", "new", cache)!.Id);
    }

    [Fact]
    public void New_hashes_have_600000_iterations_and_older_100000_iteration_hashes_still_verify()
    {
        var fresh = PasswordHash.Create("s3cret");
        Assert.StartsWith("pbkdf2-sha256$600000$", fresh);
        Assert.Equal(600_000, PasswordHash.IterationsOf(fresh));
        Assert.True(PasswordHash.Verify("s3cret", fresh));
        var older = PasswordHash.Create("s3cret", 100_000);
        Assert.Equal(100_000, PasswordHash.IterationsOf(older));
        Assert.True(PasswordHash.Verify("s3cret", older));
        Assert.False(PasswordHash.Verify("S3cret", older));
    }
}
