using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Roadmap.Core.Config;

/// <summary>What one load shares: the file name, the environment, and the errors found so far.</summary>
public sealed class ConfigContext(string file, Func<string, string?> environment)
{
    /// <summary>
    /// The most errors kept: 100. The rest are only counted (<see cref="MoreErrors"/>): a list reached many times
    /// through YAML aliases once gave three million errors and hundreds of megabytes of output.
    /// </summary>
    public const int MaxErrors = 100;

    private readonly List<ConfigError> _errors = [];
    private readonly List<ConfigError> _warnings = [];
    private readonly List<string> _secrets = [];

    public string File { get; } = file;

    /// <summary>The first <see cref="MaxErrors"/> errors found.</summary>
    public IReadOnlyList<ConfigError> Errors => _errors;

    /// <summary>Errors found past the first <see cref="MaxErrors"/>: counted, not kept.</summary>
    public int MoreErrors { get; private set; }

    /// <summary>Every error found, kept or not.</summary>
    public int ErrorCount => _errors.Count + MoreErrors;

    /// <summary>Every secret value read so far (tokens, passwords, header values), to redact from any output.</summary>
    public IReadOnlyList<string> Secrets => _secrets;

    internal void AddSecret(string? value)
    {
        // Very short values would redact ordinary words from messages; no real credential is that short.
        if (value is { Length: >= 4 } && !_secrets.Contains(value))
        {
            _secrets.Add(value);
        }
    }

    public void Error(Mark at, string message)
    {
        if (_errors.Count < MaxErrors)
        {
            _errors.Add(new ConfigError(File, (int)at.Line, (int)at.Column, message));
        }
        else
        {
            MoreErrors++;
        }
    }

    /// <summary>
    /// Things that are valid but almost certainly not meant (a percent target on a count): printed and logged, never
    /// stopping anything. The first <see cref="MaxErrors"/> are kept.
    /// </summary>
    public IReadOnlyList<ConfigError> Warnings => _warnings;

    public void Warn(Mark at, string message)
    {
        if (_warnings.Count < MaxErrors)
        {
            _warnings.Add(new ConfigError(File, (int)at.Line, (int)at.Column, message));
        }
    }

    internal string? Environment(string name) => environment(name);
}

/// <summary>
/// A YAML mapping being read into the model. It remembers which keys were read, so that every key no reader asked
/// for is reported as unknown (like blackbox_exporter's KnownFields); values are reported with the key's path.
/// Scalars are read with <c>${VAR}</c> expanded from the environment; an unset variable is an error.
/// </summary>
public sealed partial class ConfigSection
{
    private readonly YamlMappingNode _node;
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);
    private Dictionary<string, KeyValuePair<YamlNode, YamlNode>>? _index;

    internal ConfigSection(ConfigContext context, YamlMappingNode node, string path)
    {
        Context = context;
        _node = node;
        Path = path;
    }

    /// <summary>A section over a mapping parsed elsewhere: for tests that bind a source kind's keys alone.</summary>
    public static ConfigSection Of(ConfigContext context, YamlMappingNode node, string path = "") => new(context, node, path);

    public ConfigContext Context { get; }

    /// <summary>Every key a reader asked for so far, present or not: what <see cref="RejectUnknownKeys()"/> lists as known.</summary>
    public IReadOnlyCollection<string> ReadKeys => _read;

    /// <summary>Where this mapping sits, e.g. <c>sources[storefront]</c>.</summary>
    public string Path { get; }

    public Mark Start => _node.Start;

    public IEnumerable<string> Keys => _node.Children.Keys.OfType<YamlScalarNode>().Select(k => k.Value ?? "");

    public bool Has(string key) => Find(key) is not null;

    /// <summary>The path of a key in error messages.</summary>
    public string PathOf(string key) => Path.Length == 0 ? key : $"{Path}.{key}";

    /// <summary>Reports an error at the value of <paramref name="key"/> (or at this mapping when the key is absent).</summary>
    public void Error(string key, string message) =>
        Context.Error(Find(key)?.Value.Start ?? Start, $"{PathOf(key)}: {message}");

    /// <summary>Reports an error at <paramref name="at"/> (e.g. one item of a list) under the path of <paramref name="key"/>.</summary>
    public void Error(Mark at, string key, string message) => Context.Error(at, $"{PathOf(key)}: {message}");

    /// <summary>Reports a warning at the value of <paramref name="key"/> (see <see cref="ConfigContext.Warnings"/>).</summary>
    public void Warn(string key, string message) =>
        Context.Warn(Find(key)?.Value.Start ?? Start, $"{PathOf(key)}: {message}");

    /// <summary>Reports an error about this mapping as a whole.</summary>
    public void Error(string message) => Context.Error(Start, $"{(Path.Length == 0 ? "(top level)" : Path)}: {message}");

    /// <summary>A string scalar, <c>${VAR}</c> expanded; null when absent, or after reporting an error.</summary>
    public string? Text(string key, bool required = false)
    {
        var node = Node(key, required);
        if (node is null)
        {
            return null;
        }

        if (node is not YamlScalarNode scalar)
        {
            Context.Error(node.Start, $"{PathOf(key)}: expected a single value, not a {Describe(node)}");
            return null;
        }

        var value = Expand(scalar, PathOf(key));
        if (required && value is not null && value.Length == 0)
        {
            Context.Error(node.Start, $"{PathOf(key)}: must not be empty");
            return null;
        }

        return value;
    }

    /// <summary>
    /// A secret, given either as <paramref name="key"/> (a value, <c>${VAR}</c> expanded as by <see cref="Text"/>) or as
    /// <c>{key}File</c>: the path of a file (relative to the working directory; <c>${VAR}</c> expanded) whose content,
    /// less exactly one trailing newline (<c>\n</c> or <c>\r\n</c>), is the secret — the shape of Docker and
    /// Kubernetes secrets. Both keys count as read. Setting both, a file that is not a regular file (a FIFO, device,
    /// socket or directory: never waited on), cannot be read, is empty or is larger than <see cref="MaxSecretFileBytes"/>,
    /// a file holding a control character after its one newline (a second line, CR, NUL, DEL, ...: one rule for every
    /// <c>*File</c> secret, whether it becomes a header or a Redis AUTH), and (when <paramref name="required"/>)
    /// setting neither are errors, reported at the offending key's value. Errors may quote the path, never the secret.
    /// </summary>
    /// <returns>The secret; null when neither key is set, or after reporting an error.</returns>
    public string? Secret(string key, bool required = false)
    {
        var fileKey = key + "File";
        var hasValue = Node(key, required: false) is not null;
        var hasFile = Node(fileKey, required: false) is not null;
        if (hasValue && hasFile)
        {
            Error(fileKey, $"set either {key} or {fileKey}, not both");
            return null;
        }

        if (!hasFile)
        {
            if (!hasValue && required)
            {
                Error($"missing required key \"{key}\" (or {fileKey})");
                return null;
            }

            // An inline value is checked by the kind that uses it (a header value must be printable ASCII, ApiConfig).
            var value = Text(key, required);
            Context.AddSecret(value);
            return value;
        }

        var path = Text(fileKey, required: true);
        if (path is null)
        {
            return null;
        }

        if (ReadSecretFile(path, fileKey, out var secret) is { } problem)
        {
            Error(fileKey, problem);
            return null;
        }

        Context.AddSecret(secret);
        return secret;
    }

    /// <summary>The largest <c>*File</c> secret read: 64 KiB. A secret file holds one line; a larger one is not a secret.</summary>
    public const int MaxSecretFileBytes = 64 * 1024;

    // Why the file cannot serve as the secret, in words that never quote its content; null when it can.
    private static string? ReadSecretFile(string file, string fileKey, out string content)
    {
        content = "";
        var read = RegularFile.Read(file, MaxSecretFileBytes);
        if (read.TooLarge)
        {
            return $"{fileKey} \"{file}\" is larger than {MaxSecretFileBytes / 1024} KiB; the file should hold only the secret";
        }

        if (read.Bytes is not { } bytes)
        {
            return $"cannot read {fileKey} \"{file}\": {read.Problem}";
        }

        var preamble = System.Text.Encoding.UTF8.Preamble;
        var text = System.Text.Encoding.UTF8.GetString(bytes.AsSpan().StartsWith(preamble) ? bytes.AsSpan(preamble.Length) : bytes);

        // Exactly one trailing newline goes, as with Docker, Kubernetes and most tools that read secret files.
        text = text.EndsWith("\r\n", StringComparison.Ordinal) ? text[..^2] : text.EndsWith('\n') ? text[..^1] : text;
        if (text.Length == 0)
        {
            return $"{fileKey} \"{file}\" is empty";
        }

        if (ControlCharacter(text) is { } what)
        {
            // A second line is the usual way to get here: a whole system file (/etc/passwd) named by mistake.
            return $"{fileKey} \"{file}\" holds {what} after removing one trailing newline; a secret file must hold one line of text";
        }

        content = text;
        return null;
    }

    /// <summary>
    /// The first control character in <paramref name="value"/> (C0, DEL; a tab too unless <paramref name="allowTab"/>),
    /// described without quoting the value; null when there is none.
    /// </summary>
    internal static string? ControlCharacter(string value, bool allowTab = false)
    {
        foreach (var c in value)
        {
            if (c is < ' ' or '\u007f' && !(allowTab && c == '\t'))
            {
                return c switch
                {
                    '\n' => "a line break (LF)",
                    '\r' => "a carriage return (CR)",
                    '\0' => "a NUL character",
                    '\t' => "a tab",
                    _ => $"the control character U+{(int)c:X4}",
                };
            }
        }

        return null;
    }

    /// <summary>When the raw value of <paramref name="key"/> names an environment variable, the hint that it is the culprit.</summary>
    private string ExpansionHint(string key) =>
        Raw(key) is { } raw && ControlCharacter(raw) is null && raw.Contains("${", StringComparison.Ordinal)
            ? " after ${VAR} expansion (does the environment variable end with a newline?)"
            : "";

    /// <summary>The raw text of a scalar, as written (before <c>${VAR}</c> expansion): safe to quote in errors.</summary>
    public string? Raw(string key) => (Find(key)?.Value as YamlScalarNode)?.Value;

    /// <summary>An identifier: lowercase letters, digits and '-', starting with a letter or digit.</summary>
    public string? Id(string key, bool required = true)
    {
        var value = Text(key, required);
        if (value is not null && !IdPattern().IsMatch(value))
        {
            Error(key, $"bad id \"{value}\": use lowercase letters, digits and '-' (at most 63 characters), e.g. cloud-migration");
            return null;
        }

        return value;
    }

    public TimeSpan? Duration(string key, bool required = false)
    {
        var text = Text(key, required);
        if (text is null)
        {
            return null;
        }

        if (!Durations.TryParse(text, out var d))
        {
            Error(key, $"bad duration \"{Raw(key)}\": {Durations.Problem(text)}");
            return null;
        }

        return d;
    }

    public DateOnly? Date(string key, bool required = false)
    {
        var text = Text(key, required);
        if (text is null)
        {
            return null;
        }

        if (!Dates.TryParseDate(text, out var d))
        {
            Error(key, $"bad date \"{Raw(key)}\": {Dates.ExpectedDate}");
            return null;
        }

        return d;
    }

    public double? Number(string key, bool required = false)
    {
        var text = Text(key, required);
        if (text is null)
        {
            return null;
        }

        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) || !double.IsFinite(n))
        {
            Error(key, $"bad number \"{Raw(key)}\"");
            return null;
        }

        return n;
    }

    public bool? Bool(string key)
    {
        var text = Text(key);
        if (text is null)
        {
            return null;
        }

        if (!bool.TryParse(text, out var b))
        {
            Error(key, $"bad boolean \"{Raw(key)}\": expected true or false");
            return null;
        }

        return b;
    }

    /// <summary>An absolute http or https URL.</summary>
    public Uri? Url(string key, bool required = false)
    {
        var text = Text(key, required);
        if (text is null)
        {
            return null;
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) || uri.Host.Length == 0)
        {
            Error(key, $"bad URL \"{Raw(key)}\": expected an absolute http:// or https:// URL");
            return null;
        }

        return uri;
    }

    /// <summary>One value from a fixed set, compared without case.</summary>
    public string? OneOf(string key, IReadOnlyList<string> allowed, bool required = false)
    {
        var text = Text(key, required);
        if (text is null)
        {
            return null;
        }

        var match = allowed.FirstOrDefault(a => string.Equals(a, text, StringComparison.OrdinalIgnoreCase));
        if (match is null)
        {
            Error(key, $"unknown value \"{Raw(key)}\": expected one of {string.Join(", ", allowed)}");
        }

        return match;
    }

    /// <summary>A list of strings; a single scalar counts as a list of one.</summary>
    public IReadOnlyList<(string Value, Mark At)> StringList(string key)
    {
        var node = Node(key, required: false);
        switch (node)
        {
            case null:
                return [];
            case YamlScalarNode scalar:
                return Expand(scalar, PathOf(key)) is { } one ? [(one, scalar.Start)] : [];
            case YamlSequenceNode seq:
                var list = new List<(string, Mark)>();
                var i = 0;
                foreach (var item in seq.Children)
                {
                    if (item is YamlScalarNode s)
                    {
                        if (Expand(s, $"{PathOf(key)}[{i}]") is { } v)
                        {
                            list.Add((v, s.Start));
                        }
                    }
                    else
                    {
                        Context.Error(item.Start, $"{PathOf(key)}[{i}]: expected a single value, not a {Describe(item)}");
                    }

                    i++;
                }

                return list;
            default:
                Context.Error(node.Start, $"{PathOf(key)}: expected a list, not a {Describe(node)}");
                return [];
        }
    }

    /// <summary>A whole number from <paramref name="min"/> to <paramref name="max"/>; null when absent or after reporting an error.</summary>
    public int? WholeNumber(string key, int min, int max)
    {
        var text = Text(key);
        if (text is null)
        {
            return null;
        }

        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) || n < min || n > max)
        {
            Error(key, $"bad number \"{Raw(key)}\": expected a whole number from {min} to {max}");
            return null;
        }

        return n;
    }

    /// <summary>A list of networks in CIDR notation (a bare address is a /32 or /128); each bad entry is reported where it is.</summary>
    public IReadOnlyList<System.Net.IPNetwork> NetworkList(string key)
    {
        var list = new List<System.Net.IPNetwork>();
        var i = 0;
        foreach (var (value, at) in StringList(key))
        {
            if (NetworkSettings.TryParseCidr(value, out var network, out var problem))
            {
                list.Add(network);
            }
            else
            {
                Context.Error(at, $"{PathOf(key)}[{i}]: bad CIDR \"{value}\": {problem}");
            }

            i++;
        }

        return list;
    }

    /// <summary>
    /// A mapping of HTTP header names to values (<c>${VAR}</c> expanded). A name must be an HTTP token (letters,
    /// digits and !#$%&amp;'*+-.^_`|~); a value must hold no control character but tab, also after expansion: a CR or
    /// LF would end the header and start another (header injection), and a mounted secret's trailing newline would
    /// be sent raw. Each problem is reported at its value; the mapping holds the valid pairs.
    /// </summary>
    public IReadOnlyDictionary<string, string> StringMap(string key)
    {
        var section = Section(key);
        if (section is null)
        {
            return new Dictionary<string, string>();
        }

        var map = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var name in section.Keys.ToList())
        {
            if (section.Text(name) is not { } v)
            {
                continue;
            }

            if (!HeaderName().IsMatch(name))
            {
                section.Error(name, $"bad header name \"{name}\": expected letters, digits and !#$%&'*+-.^_`|~ only (no spaces, colons or control characters)");
            }
            else if (ControlCharacter(v, allowTab: true) is { } what)
            {
                // Never quoted: header values are often credentials.
                section.Error(name, $"the value contains {what}{section.ExpansionHint(name)}; a header value must be one line without control characters");
            }
            else
            {
                map[name] = v;
                if (CredentialHeader().IsMatch(name))
                {
                    Context.AddSecret(v);
                }
            }
        }

        return map;
    }

    /// <summary>A nested mapping; null when absent or not a mapping (reported).</summary>
    public ConfigSection? Section(string key, bool required = false)
    {
        var node = Node(key, required);
        if (node is null)
        {
            return null;
        }

        if (node is YamlMappingNode map)
        {
            return new ConfigSection(Context, map, PathOf(key));
        }

        Context.Error(node.Start, $"{PathOf(key)}: expected a mapping (key: value), not a {Describe(node)}");
        return null;
    }

    /// <summary>The raw node of a key, marked as read. For keys that take several shapes.</summary>
    public YamlNode? Node(string key, bool required)
    {
        _read.Add(key);
        var pair = Find(key);
        if (pair is null || pair.Value.Value is YamlScalarNode { Value: null or "", Style: ScalarStyle.Plain })
        {
            if (required)
            {
                Error($"missing required key \"{key}\"");
            }

            return null;
        }

        return pair.Value.Value;
    }

    /// <summary>Items of a list of mappings, each with its path named by its <paramref name="idKey"/> where it has one.</summary>
    public IReadOnlyList<ConfigSection> SectionList(string key, string? idKey = "id")
    {
        var node = Node(key, required: false);
        if (node is null)
        {
            return [];
        }

        if (node is not YamlSequenceNode seq)
        {
            Context.Error(node.Start, $"{PathOf(key)}: expected a list, not a {Describe(node)}");
            return [];
        }

        var list = new List<ConfigSection>();
        var i = 0;
        foreach (var item in seq.Children)
        {
            if (item is YamlMappingNode map)
            {
                var id = idKey is null ? null : (map.Children.FirstOrDefault(c => (c.Key as YamlScalarNode)?.Value == idKey).Value as YamlScalarNode)?.Value;
                var name = string.IsNullOrEmpty(id) ? i.ToString(CultureInfo.InvariantCulture) : id;
                list.Add(new ConfigSection(Context, map, $"{PathOf(key)}[{name}]"));
            }
            else
            {
                Context.Error(item.Start, $"{PathOf(key)}[{i}]: expected a mapping (key: value), not a {Describe(item)}");
            }

            i++;
        }

        return list;
    }

    /// <summary>
    /// Reports every key of this mapping that is neither declared in <paramref name="declared"/> nor asked for by a
    /// reader, listing those as the known keys. For a source kind the two are the same set (SourceKindKeysTests binds
    /// every declared key and compares), so the list comes from the declarations whatever branch a reader took.
    /// </summary>
    public void RejectUnknownKeys(IEnumerable<KeySpec> declared)
    {
        foreach (var name in declared.SelectMany(k => k.Names))
        {
            _read.Add(name);
        }

        RejectUnknownKeys();
    }

    /// <summary>Reports every key of this mapping that no reader asked for, with the keys that are known.</summary>
    public void RejectUnknownKeys()
    {
        foreach (var (k, _) in _node.Children)
        {
            var name = (k as YamlScalarNode)?.Value ?? "";
            if (!_read.Contains(name))
            {
                var known = string.Join(", ", _read.Order(StringComparer.Ordinal));
                Context.Error(k.Start, $"{PathOf(name)}: unknown key \"{name}\" (known keys here: {known})");
            }
        }
    }

    private KeyValuePair<YamlNode, YamlNode>? Find(string key)
    {
        // A scan for the few keys of a usual mapping; an index for a large one, where reading every key (a headers
        // map of 100,000 entries) would otherwise take quadratic time.
        if (_node.Children.Count > 16)
        {
            if (_index is null)
            {
                _index = new Dictionary<string, KeyValuePair<YamlNode, YamlNode>>(StringComparer.Ordinal);
                foreach (var pair in _node.Children)
                {
                    if (pair.Key is YamlScalarNode { Value: { } k })
                    {
                        _index.TryAdd(k, pair);
                    }
                }
            }

            return _index.TryGetValue(key, out var found) ? found : null;
        }

        foreach (var pair in _node.Children)
        {
            if (pair.Key is YamlScalarNode { Value: var k } && k == key)
            {
                return pair;
            }
        }

        return null;
    }

    private string? Expand(YamlScalarNode scalar, string path)
    {
        var text = scalar.Value ?? "";
        if (!text.Contains("${", StringComparison.Ordinal))
        {
            return text;
        }

        var ok = true;
        var result = VariablePattern().Replace(text, m =>
        {
            var name = m.Groups[1].Value;
            var value = Context.Environment(name);
            if (value is null)
            {
                Context.Error(scalar.Start, $"{path}: environment variable {name} is not set");
                ok = false;
                return "";
            }

            return value;
        });
        return ok ? result : null;
    }

    internal static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "mapping",
        YamlSequenceNode => "list",
        _ => "value",
    };

    [GeneratedRegex(@"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", RegexOptions.CultureInvariant)]
    private static partial Regex VariablePattern();

    [GeneratedRegex(@"^[a-z0-9][a-z0-9-]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex IdPattern();

    /// <summary>An HTTP field name: a token (RFC 9110, section 5.6.2).</summary>
    [GeneratedRegex(@"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$", RegexOptions.CultureInvariant)]
    private static partial Regex HeaderName();

    /// <summary>Header names that carry credentials: Authorization, Cookie, X-Api-Key, PRIVATE-TOKEN, X-Auth-Secret, ...</summary>
    [GeneratedRegex(@"auth|token|key|secret|cookie|password|session", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex CredentialHeader();
}
