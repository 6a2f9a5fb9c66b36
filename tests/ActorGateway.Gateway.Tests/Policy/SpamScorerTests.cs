using System.Text;
using System.Text.RegularExpressions;
using ActorGateway.Mail.Scanning;

namespace ActorGateway.Gateway.Tests.Policy;

public sealed class SpamScorerTests
{
    static readonly SpamContext Context = new("127.0.0.1", "client.test", "a@s.example", ["b@r.example"], null);
    static readonly BuiltInSpamScorer Scorer = new([
        new SpamRule("SUBJECT_MONEY", "Subject", new Regex("(?i)free money"), 3.0),
        new SpamRule("BODY_PILLS", null, new Regex("(?i)cheap pills"), 2.5),
    ]);

    static Task<SpamVerdict> Score(string message) => Scorer.ScoreAsync(Encoding.UTF8.GetBytes(message.Replace("\n", "\r\n")), Context, CancellationToken.None);

    [Fact]
    public async Task Gtube_scores_1000()
    {
        var v = await Score($"Subject: hi\n\n{BuiltInSpamScorer.Gtube}\n");
        Assert.Equal(1000, v.Score);
        Assert.Equal(["GTUBE"], v.Symbols);
    }

    [Fact]
    public async Task Rules_add_their_weights_on_headers_and_decoded_bodies()
    {
        // The body is quoted-printable: the rule sees the decoded text.
        var v = await Score("Subject: FREE MONEY inside\nContent-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\ncheap=20pills here\n");
        Assert.Equal(5.5, v.Score);
        Assert.Equal(["SUBJECT_MONEY(3)", "BODY_PILLS(2.5)"], v.Symbols);
    }

    [Fact]
    public async Task Plain_mail_scores_zero()
    {
        var v = await Score("Subject: minutes\n\nSee you tomorrow.\n");
        Assert.True(v.Scored);
        Assert.Equal(0, v.Score);
    }
}
