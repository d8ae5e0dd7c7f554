using Roadmap.Core.Config;

namespace Roadmap.Core.Tests.Config;

/// <summary>The options <see cref="TokenSourceKindSpec"/> binds: the secret it read.</summary>
public sealed record TokenSourceOptions(string? Token);

/// <summary>A source kind whose only key is a secret: <c>token</c> or <c>tokenFile</c>, as an API kind reads it.</summary>
public sealed class TokenSourceKindSpec(bool required) : ISourceKindSpec
{
    public string Kind => "token";

    public object Bind(ConfigSection section) => new TokenSourceOptions(section.Secret("token", required));

    public IReadOnlyList<string> Signals(object options) => ["count"];
}

/// <summary><see cref="ConfigSection.Secret"/> through the real loader, with secret files in a temp dir.</summary>
public sealed class ConfigSectionSecretTests : IDisposable
{
    private const string File = "test.yaml";
    private const string Secret = "s3cr3t-Value";

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "roadmap-secret-" + Guid.NewGuid().ToString("N"));

    public ConfigSectionSecretTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private readonly Dictionary<string, string> _environment = new(StringComparer.Ordinal)
    {
        ["API_TOKEN"] = Secret,
    };

    /// <summary>
    /// Loads one token source whose own keys are <paramref name="keys"/>. The source's mapping starts at line 3,
    /// column 5; its first own key is on line 5, with the value at column 12 for "token: " and 16 for "tokenFile: ".
    /// </summary>
    private ConfigLoadResult Load(string keys, bool required = false)
    {
        var own = string.Join('\n', keys.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(k => "    " + k));
        var yaml = $"roadmap: {{name: x}}\nsources:\n  - id: api\n    kind: token\n{own}\n";
        return new ConfigLoader([new TokenSourceKindSpec(required)], name => _environment.GetValueOrDefault(name)).Load(yaml, File);
    }

    private string? Token(string keys, bool required = false)
    {
        var result = Load(keys, required);
        Assert.True(result.IsValid, string.Join('\n', result.Errors));
        return Assert.IsType<TokenSourceOptions>(Assert.Single(result.Config!.Sources).Options).Token;
    }

    private List<string> Errors(string keys, bool required = false)
    {
        var result = Load(keys, required);
        Assert.False(result.IsValid);
        return result.Errors.Select(e => e.ToString()).ToList();
    }

    private string WriteFile(string name, string content)
    {
        var path = Path.Combine(_dir, name);
        System.IO.File.WriteAllText(path, content);
        return path;
    }

    private static string Quote(string s) => "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";

    [Fact]
    public void Secret_InlineValue_IsTheSecret()
    {
        Assert.Equal("abc123", Token("token: abc123"));
    }

    [Fact]
    public void Secret_InlineVariable_IsExpanded()
    {
        Assert.Equal($"Bearer {Secret}", Token("token: \"Bearer ${API_TOKEN}\""));
    }

    [Fact]
    public void Secret_InlineUnsetVariable_IsAnErrorAtTheValue()
    {
        Assert.Equal(["test.yaml:5:12: sources[api].token: environment variable NOPE is not set"], Errors("token: ${NOPE}"));
    }

    [Theory]
    [InlineData(Secret + "\n", Secret)]
    [InlineData(Secret + "\r\n", Secret)]
    [InlineData(Secret, Secret)]
    [InlineData(" " + Secret + " \n", " " + Secret + " ")] // spaces are part of the secret
    [InlineData("\uFEFF" + Secret + "\n", Secret)] // a UTF-8 byte order mark is not part of it
    public void Secret_File_IsItsContentLessOneTrailingNewline(string content, string expected)
    {
        var path = WriteFile("token", content);

        Assert.Equal(expected, Token($"tokenFile: {Quote(path)}"));
    }

    [Fact]
    public void Secret_FilePathWithVariable_IsExpanded()
    {
        var path = WriteFile("token", "from-file\n");
        _environment["SECRET_DIR"] = _dir;

        var token = Token("tokenFile: ${SECRET_DIR}/token");

        Assert.Equal("from-file", token);
    }

    [Fact]
    public void Secret_FileMissing_IsAnErrorAtTheValueNamingThePath()
    {
        var path = Path.Combine(_dir, "absent");

        var errors = Errors($"tokenFile: {Quote(path)}");

        Assert.Equal([$"test.yaml:5:16: sources[api].tokenFile: cannot read tokenFile \"{path}\": no such file"], errors);
    }

    [Fact]
    public void Secret_FileInMissingDirectory_IsNoSuchFile()
    {
        var path = Path.Combine(_dir, "no-dir", "token");

        var error = Assert.Single(Errors($"tokenFile: {Quote(path)}"));

        Assert.EndsWith($"cannot read tokenFile \"{path}\": no such file", error);
    }

    [Fact]
    public void Secret_FileIsADirectory_IsAnError()
    {
        Assert.Equal([$"test.yaml:5:16: sources[api].tokenFile: cannot read tokenFile \"{_dir}\": it is a directory"], Errors($"tokenFile: {Quote(_dir)}"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("\n")]
    [InlineData("\r\n")]
    public void Secret_EmptyFile_IsAnError(string content)
    {
        var path = WriteFile("empty", content);

        Assert.Equal([$"test.yaml:5:16: sources[api].tokenFile: tokenFile \"{path}\" is empty"], Errors($"tokenFile: {Quote(path)}"));
    }

    [Fact]
    public void Secret_FileLargerThanTheCap_IsAnErrorThatNeverQuotesTheContent()
    {
        var path = WriteFile("huge", string.Concat(Enumerable.Repeat(Secret, 64 * 1024 / Secret.Length + 1)));

        var error = Assert.Single(Errors($"tokenFile: {Quote(path)}"));

        Assert.Equal($"test.yaml:5:16: sources[api].tokenFile: tokenFile \"{path}\" is larger than 64 KiB; the file should hold only the secret", error);
        Assert.DoesNotContain(Secret, error);
    }

    [Fact]
    public void Secret_FileOfExactlyTheCap_IsTheSecret()
    {
        var content = new string('x', 64 * 1024);
        var path = WriteFile("big", content);

        Assert.Equal(content, Token($"tokenFile: {Quote(path)}"));
    }

    [Fact]
    public void Secret_EndlessDevice_IsNotARegularFile()
    {
        var error = Assert.Single(Errors("tokenFile: /dev/zero"));

        Assert.Equal("test.yaml:5:16: sources[api].tokenFile: cannot read tokenFile \"/dev/zero\": it is a character device, not a regular file", error);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // through a symbolic link: the link is followed, then its target judged
    public async Task Secret_FileIsAFifo_IsAnErrorNotAHang(bool throughLink)
    {
        var fifo = Path.Combine(_dir, "fifo");
        Fifo.Create(fifo);
        var path = fifo;
        if (throughLink)
        {
            path = Path.Combine(_dir, "link");
            System.IO.File.CreateSymbolicLink(path, fifo);
        }

        // Opening a FIFO without a writer blocks in open(2): without the guard this never returns.
        var errors = await Task.Run(() => Errors($"tokenFile: {Quote(path)}")).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal([$"test.yaml:5:16: sources[api].tokenFile: cannot read tokenFile \"{path}\": it is a FIFO (named pipe), not a regular file"], errors);
    }

    [Theory]
    [InlineData(Secret + "\n\n", "a line break (LF)")] // exactly one trailing newline is removed, not every one
    [InlineData(Secret + "\r\n\r\n", "a carriage return (CR)")]
    [InlineData("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n", "a line break (LF)")] // a system file named by mistake
    [InlineData(Secret + "\r", "a carriage return (CR)")]
    [InlineData(Secret + "\0", "a NUL character")]
    [InlineData("a\tb" + Secret, "a tab")]
    [InlineData(Secret + "\u007f", "the control character U+007F")]
    [InlineData(Secret + "\u001b[0m", "the control character U+001B")]
    public void Secret_FileWithAControlCharacterLeft_IsAnErrorThatNeverQuotesTheContent(string content, string what)
    {
        var path = WriteFile("token", content);

        var error = Assert.Single(Errors($"tokenFile: {Quote(path)}"));

        Assert.Equal($"test.yaml:5:16: sources[api].tokenFile: tokenFile \"{path}\" holds {what} after removing one trailing newline; a secret file must hold one line of text", error);
        Assert.DoesNotContain(Secret, error);
        Assert.DoesNotContain("root", error);
    }

    [Fact]
    public void Secret_BothSet_IsOneErrorAtTheFileKeyThatNeverQuotesTheSecret()
    {
        var path = WriteFile("token", Secret);

        var errors = Errors($"token: ${{API_TOKEN}}\ntokenFile: {Quote(path)}");

        Assert.Equal(["test.yaml:6:16: sources[api].tokenFile: set either token or tokenFile, not both"], errors);
    }

    [Fact]
    public void Secret_RequiredAndNeitherSet_IsAnErrorAtTheSource()
    {
        Assert.Equal(["test.yaml:3:5: sources[api]: missing required key \"token\" (or tokenFile)"], Errors("", required: true));
    }

    [Theory]
    [InlineData("token:")]
    [InlineData("tokenFile:")]
    public void Secret_RequiredAndKeyWithoutValue_CountsAsNeitherSet(string keys)
    {
        Assert.Equal(["test.yaml:3:5: sources[api]: missing required key \"token\" (or tokenFile)"], Errors(keys, required: true));
    }

    [Fact]
    public void Secret_RequiredAndEmptyQuotedValue_IsAnError()
    {
        Assert.Equal(["test.yaml:5:12: sources[api].token: must not be empty"], Errors("token: \"\"", required: true));
    }

    [Fact]
    public void Secret_RequiredAndFileGiven_IsTheSecret()
    {
        var path = WriteFile("token", Secret + "\n");

        Assert.Equal(Secret, Token($"tokenFile: {Quote(path)}", required: true));
    }

    [Fact]
    public void Secret_OptionalAndNeitherSet_IsNull()
    {
        Assert.Null(Token(""));
    }

    [Fact]
    public void Secret_FileKeyNotAValue_IsAnError()
    {
        Assert.Equal(["test.yaml:5:16: sources[api].tokenFile: expected a single value, not a list"], Errors("tokenFile: [a, b]"));
    }

    [Fact]
    public void Secret_UnknownKeyBeside_ListsBothKeysAsKnown()
    {
        var error = Assert.Single(Errors("tokenfile: /run/secrets/token"));

        Assert.StartsWith("test.yaml:5:5: sources[api].tokenfile: unknown key \"tokenfile\"", error);
        Assert.Contains("token, tokenFile", error);
    }
}
