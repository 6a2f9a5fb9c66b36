using System.Text;
using System.Text.RegularExpressions;
using ActorGateway.Smtp.Protocol;
using ActorGateway.Smtp.Session;

namespace ActorGateway.Smtp.Tests.Protocol;

/// <summary>Bare CR and LF become CRLF, whatever the piece boundaries (BDAT chunks, buffer segments).</summary>
public sealed class BareLineEndingNormalizerTests
{
    // The reference: every line ending of any kind becomes one CRLF.
    static string Reference(string s) => Regex.Replace(s, "\r\n|\r|\n", "\r\n");

    static (string Text, BareLineEnding Found) Run(IEnumerable<string> pieces)
    {
        using var body = new MessageBody();
        var normalizer = new BareLineEndingNormalizer();
        foreach (var piece in pieces) normalizer.Append(Encoding.ASCII.GetBytes(piece), body);
        normalizer.Complete(body);
        return (Encoding.ASCII.GetString(body.ToArray()), normalizer.Found);
    }

    [Theory]
    [InlineData("text\n.\nMAIL FROM:<x@s.example>\r\n", "text\r\n.\r\nMAIL FROM:<x@s.example>\r\n", BareLineEnding.Lf)]
    [InlineData("text\n.\r\nMAIL FROM:<x@s.example>\r\n", "text\r\n.\r\nMAIL FROM:<x@s.example>\r\n", BareLineEnding.Lf)]
    [InlineData("text\r.\r\nMAIL FROM:<x@s.example>\r\n", "text\r\n.\r\nMAIL FROM:<x@s.example>\r\n", BareLineEnding.Cr)]
    [InlineData("text\r\n.\rMAIL FROM:<x@s.example>\r\n", "text\r\n.\r\nMAIL FROM:<x@s.example>\r\n", BareLineEnding.Cr)]
    [InlineData("text\r.\nMAIL FROM:<x@s.example>\r\n", "text\r\n.\r\nMAIL FROM:<x@s.example>\r\n", BareLineEnding.Cr)]
    [InlineData("a\r\r\nb", "a\r\n\r\nb", BareLineEnding.Cr)]
    [InlineData("a\n\r\nb\n", "a\r\n\r\nb\r\n", BareLineEnding.Lf)]
    [InlineData("ends with CR\r", "ends with CR\r\n", BareLineEnding.Cr)]
    [InlineData("\n", "\r\n", BareLineEnding.Lf)]
    [InlineData("\r", "\r\n", BareLineEnding.Cr)]
    public void Smuggling_sequences_become_crlf_at_every_split(string input, string expected, BareLineEnding found)
    {
        Assert.Equal((expected, found), Run([input]));
        // Split in two at every position, and one byte at a time.
        for (var i = 0; i <= input.Length; i++)
            Assert.Equal((expected, found), Run([input[..i], input[i..]]));
        Assert.Equal((expected, found), Run(input.Select(c => c.ToString())));
    }

    [Fact]
    public void Crlf_text_passes_unchanged_and_the_whole_message_form_keeps_its_array()
    {
        const string text = "Subject: x\r\n\r\nline one\r\n.\r\n\r\nlast";
        Assert.Equal((text, BareLineEnding.None), Run([text]));
        for (var i = 0; i <= text.Length; i++) Assert.Equal((text, BareLineEnding.None), Run([text[..i], text[i..]]));
        var bytes = Encoding.ASCII.GetBytes(text);
        Assert.Same(bytes, BareLineEndingNormalizer.Normalize(bytes));
        Assert.Equal("a\r\nb\r\n", Encoding.ASCII.GetString(BareLineEndingNormalizer.Normalize("a\nb\r"u8.ToArray())));
    }

    [Fact]
    public void Index_of_bare_skips_crlf_and_leaves_a_final_cr_undecided()
    {
        Assert.Equal(-1, BareLineEndingNormalizer.IndexOfBare("a\r\nb\r\n"u8, out var kind));
        Assert.Equal(BareLineEnding.None, kind);
        Assert.Equal(4, BareLineEndingNormalizer.IndexOfBare("a\r\nb\nc"u8, out kind));
        Assert.Equal(BareLineEnding.Lf, kind);
        Assert.Equal(1, BareLineEndingNormalizer.IndexOfBare("a\rb"u8, out kind));
        Assert.Equal(BareLineEnding.Cr, kind);
        Assert.Equal(-1, BareLineEndingNormalizer.IndexOfBare("a\r"u8, out _));
    }

    [Fact]
    public void Index_of_bare_finds_one_bare_ending_at_any_position_of_long_crlf_text()
    {
        // Long enough for the vectorized check (blocks of 16 and 32 octets) and its scalar tail.
        var text = string.Concat(Enumerable.Range(0, 12).Select(i => new string('x', i % 5) + "\r\n"));
        for (var at = 0; at <= text.Length; at++)
            foreach (var (insert, kind) in new[] { ("\n", BareLineEnding.Lf), ("\rx", BareLineEnding.Cr) })
            {
                if (at > 0 && text[at - 1] == '\r') continue; // would join a CRLF pair
                var input = Encoding.ASCII.GetBytes(text.Insert(at, insert));
                Assert.True((at, kind) == (BareLineEndingNormalizer.IndexOfBare(input, out var found), found), $"{insert.Replace("\r", "CR").Replace("\n", "LF")} at {at}");
            }
        Assert.Equal(-1, BareLineEndingNormalizer.IndexOfBare(Encoding.ASCII.GetBytes(text), out _));
    }

    [Fact]
    public void Random_input_in_random_pieces_matches_the_reference_and_has_no_bare_ending_left()
    {
        var random = new Random(5321);
        for (var round = 0; round < 3000; round++)
        {
            // Any mix of octets and line endings, or CRLF text with a rare bare ending.
            string[] tokens = round % 2 == 0 ? ["a", "b", ".", "\r", "\n", "\r\n"] : [.. Enumerable.Repeat("text", 12), .. Enumerable.Repeat("\r\n", 6), "\r", "\n"];
            var input = string.Concat(Enumerable.Range(0, random.Next(0, 60)).Select(_ => tokens[random.Next(tokens.Length)]));
            var pieces = new List<string>();
            for (var at = 0; at < input.Length;)
            {
                var n = random.Next(0, Math.Min(6, input.Length - at) + 1);
                pieces.Add(input.Substring(at, n));
                at += n;
            }
            var (text, found) = Run(pieces);
            Assert.Equal(Reference(input), text);
            Assert.NotEqual(Reference(input) != input, found == BareLineEnding.None);
            Assert.Equal(-1, BareLineEndingNormalizer.IndexOfBare(Encoding.ASCII.GetBytes(text), out _));
            Assert.False(text.EndsWith('\r'));
        }
    }
}
