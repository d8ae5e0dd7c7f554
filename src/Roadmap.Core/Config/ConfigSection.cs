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
/// A YAML mapping being read into the model. Its keys are declared (<see cref="Declare"/>, from <see cref="KeySpec"/>s)
/// and checked by their declarations in one place, <see cref="Check"/>: present when required, and of their type. The
/// readers (<see cref="Text"/>, <see cref="Duration"/>, ...) then take the checked values and add only the checks that
/// need more than one key; a key that is not declared (under a free mapping such as <c>headers</c>, or a test's source
/// kind) is checked when it is read. Every key neither declared nor read is reported as unknown (like
/// blackbox_exporter's KnownFields); values are reported with the key's path. Scalars are read with <c>${VAR}</c>
/// expanded from the environment; an unset variable is an error.
/// </summary>
public sealed partial class ConfigSection
{
    private readonly YamlMappingNode _node;
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    // By every name a declaration accepts (token and tokenFile): the declaration and what its check found.
    private Dictionary<string, Checked>? _declared;

    // While a declaration is checked, reading a node is not a reader asking for the key (ReadKeys).
    private bool _checking;
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

    /// <summary>
    /// Every key a reader asked for so far, present or not (a declared key counts once its reader asks for it, not when
    /// it is checked): beside the declared keys, what <see cref="RejectUnknownKeys()"/> lists as known.
    /// </summary>
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

    /// <summary>
    /// Declares <paramref name="keys"/> as keys of this mapping and checks each at once by its declaration alone (see
    /// <see cref="Check"/>); a nested mapping's keys are declared and checked with it. Declaring more keys later (a
    /// source's kind's keys after the common ones) checks those.
    /// </summary>
    /// <returns>This section.</returns>
    public ConfigSection Declare(IEnumerable<KeySpec> keys)
    {
        var count = keys.TryGetNonEnumeratedCount(out var n) ? n : 0;
        _declared ??= new Dictionary<string, Checked>(count, StringComparer.Ordinal);
        _declared.EnsureCapacity(_declared.Count + count);
        foreach (var key in keys)
        {
            var errorsBefore = Context.ErrorCount;
            _checking = true;
            var value = Check(key);
            _checking = false;
            var found = new Checked(key, value, Context.ErrorCount > errorsBefore);
            _declared[key.Name] = found;
            if (key.Secret)
            {
                _declared[key.Name + "File"] = found;
            }
        }

        return this;
    }

    /// <summary>
    /// Whether the check of the declared <paramref name="key"/> reported an error (then its reader gets null, and a
    /// check that builds on it says nothing more).
    /// </summary>
    public bool Failed(string key) => Declared(key) is { Failed: true };

    /// <summary>
    /// Reports "must be from MIN to MAX" at <paramref name="key"/> when it was written, read without error, and its
    /// <paramref name="value"/> lies outside that range.
    /// </summary>
    public void CheckRange(string key, TimeSpan value, TimeSpan min, TimeSpan max)
    {
        if (Has(key) && !Failed(key) && (value < min || value > max))
        {
            Error(key, $"must be from {Durations.Format(min)} to {Durations.Format(max)}");
        }
    }

    /// <summary>A declaration, the value its check gave, and whether the check reported an error.</summary>
    private readonly record struct Checked(KeySpec Spec, object? Value, bool Failed);

    /// <summary>
    /// The type and required checks of every config key, from its declaration: the one place they happen, as the JSON
    /// Schema's shapes come from the same declarations in <see cref="ConfigSchema"/>. Returns the value as its reader
    /// gives it (a string, a <see cref="TimeSpan"/>, a list of (value, mark), a <see cref="ConfigSection"/>, ...), or
    /// null when the key is absent or after reporting why the value does not do.
    /// </summary>
    private object? Check(KeySpec key) => key.Type switch
    {
        KeyType.Text or KeyType.Url when key.Secret => ReadSecret(key.Name, key.Required),
        KeyType.Text => ReadText(key.Name, key.Required),
        KeyType.Id => ReadId(key.Name, key.Required),
        KeyType.Duration => ReadDuration(key.Name, key.Required),
        KeyType.Date => ReadDate(key.Name, key.Required),
        KeyType.WholeNumber => ReadWholeNumber(key.Name, key.Min ?? int.MinValue, key.Max ?? int.MaxValue, key.Required),
        KeyType.Boolean => ReadBool(key.Name, key.Required),
        KeyType.Url => ReadUrl(key.Name, key.Required),
        KeyType.Enum when key.Allowed is { } allowed => ReadOneOf(key.Name, allowed, key.Required, key.ValueName),
        KeyType.Enum => ReadText(key.Name, key.Required),
        KeyType.TextList => key.Required && Node(key.Name, required: true) is null ? null : ReadStringList(key.Name),
        KeyType.Map => ReadSection(key.Name, key.Required),
        KeyType.Mapping => ReadSection(key.Name, key.Required)?.Declare(key.Keys ?? []),
        KeyType.MappingList => key.Required && Node(key.Name, required: true) is null
            ? null
            : ReadSectionList(key.Name, ItemIdKey(key)).Select(s => s.Declare(key.Keys ?? [])).ToList(),
        KeyType.TextOrMapping => Node(key.Name, key.Required) switch
        {
            null => null,
            YamlMappingNode => ReadSection(key.Name, required: false)?.Declare(key.Keys ?? []),
            _ => ReadText(key.Name, key.Required),
        },
        KeyType.BooleanOrMapping => Node(key.Name, key.Required) switch
        {
            null => null,
            YamlMappingNode => ReadSection(key.Name, required: false)?.Declare(key.Keys ?? []),
            _ => ReadBool(key.Name, key.Required),
        },
        _ => throw new ArgumentOutOfRangeException(nameof(key), key.Type, "unknown key type"),
    };

    // The key that names a list's items in error paths (sources[web], settings.updates[weekly]): id, or else name.
    private static string? ItemIdKey(KeySpec list) =>
        list.Keys?.Any(k => k.Name == "id") == true ? "id" : list.Keys?.Any(k => k.Name == "name") == true ? "name" : null;

    /// <summary>The declaration of <paramref name="key"/> in this mapping and its check; null when it has none.</summary>
    private Checked? Declared(string key) => _declared is not null && _declared.TryGetValue(key, out var found) ? found : null;

    /// <summary>
    /// The checked value of a declared key for a reader of <paramref name="type"/> (or <paramref name="also"/>, <paramref name="orElse"/>,
    /// <paramref name="orAlso"/>); another declared type is a bug of the reader, thrown. <paramref name="requiredHere"/>
    /// is a requirement the declaration cannot state (signal, unless the source has only one): a missing or empty
    /// value is then reported here, unless its check already reported the key.
    /// </summary>
    private object? Taken(string key, Checked found, bool requiredHere, KeyType type, KeyType? also = null, KeyType? orAlso = null, KeyType? orElse = null)
    {
        var spec = found.Spec;
        if (spec.Type != type && spec.Type != also && spec.Type != orAlso && spec.Type != orElse)
        {
            throw new InvalidOperationException($"{PathOf(key)} is declared as {spec.Type}: read it with the reader of that type");
        }

        _read.Add(spec.Name);
        if (spec.Secret)
        {
            _read.Add(spec.Name + "File");
        }

        if (requiredHere && !spec.Required && !found.Failed)
        {
            if (found.Value is null)
            {
                Error($"missing required key \"{key}\"");
            }
            else if (found.Value is "")
            {
                Error(key, "must not be empty");
                return null;
            }
        }

        return found.Value;
    }

    /// <summary>
    /// A string scalar, <c>${VAR}</c> expanded; null when absent, or after reporting an error. A declared key's value was
    /// checked by its declaration; <paramref name="required"/> then adds a requirement the declaration cannot state.
    /// </summary>
    public string? Text(string key, bool required = false) =>
        Declared(key) is { } spec ? Taken(key, spec, required, KeyType.Text, KeyType.Enum, KeyType.TextOrMapping) as string : ReadText(key, required);

    private string? ReadText(string key, bool required)
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
    public string? Secret(string key, bool required = false) =>
        Declared(key) is { Spec.Secret: true } spec ? Taken(key, spec, required, KeyType.Text, KeyType.Url) as string : ReadSecret(key, required);

    private string? ReadSecret(string key, bool required)
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
            var value = ReadText(key, required);
            Context.AddSecret(value);
            return value;
        }

        var path = ReadText(fileKey, required: true);
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
    public string? Id(string key, bool required = true) =>
        Declared(key) is { } spec ? Taken(key, spec, required, KeyType.Id) as string : ReadId(key, required);

    private string? ReadId(string key, bool required)
    {
        var value = ReadText(key, required);
        if (value is not null && !IdPattern().IsMatch(value))
        {
            Error(key, $"bad id \"{value}\": use lowercase letters, digits and '-' (at most 63 characters), e.g. cloud-migration");
            return null;
        }

        return value;
    }

    public TimeSpan? Duration(string key, bool required = false) =>
        Declared(key) is { } spec ? Taken(key, spec, required, KeyType.Duration) as TimeSpan? : ReadDuration(key, required);

    private TimeSpan? ReadDuration(string key, bool required)
    {
        var text = ReadText(key, required);
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

    public DateOnly? Date(string key, bool required = false) =>
        Declared(key) is { } spec ? Taken(key, spec, required, KeyType.Date) as DateOnly? : ReadDate(key, required);

    private DateOnly? ReadDate(string key, bool required)
    {
        var text = ReadText(key, required);
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

    public bool? Bool(string key) =>
        Declared(key) is { } spec ? Taken(key, spec, requiredHere: false, KeyType.Boolean, KeyType.BooleanOrMapping) as bool? : ReadBool(key, required: false);

    private bool? ReadBool(string key, bool required)
    {
        var text = ReadText(key, required);
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
    public Uri? Url(string key, bool required = false) =>
        Declared(key) is { } spec ? Taken(key, spec, required, KeyType.Url) as Uri : ReadUrl(key, required);

    private Uri? ReadUrl(string key, bool required)
    {
        var text = ReadText(key, required);
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

    /// <summary>A declared <see cref="KeyType.Enum"/> key: one of its allowed values, as declared (matched without case).</summary>
    public string? OneOf(string key) =>
        Declared(key) is { } spec ? Taken(key, spec, requiredHere: false, KeyType.Enum) as string : throw new InvalidOperationException($"{PathOf(key)} is not declared");

    /// <summary>One value from a fixed set, compared without case (for a declared key: its declaration's set).</summary>
    public string? OneOf(string key, IReadOnlyList<string> allowed, bool required = false) =>
        Declared(key) is { } spec ? Taken(key, spec, required, KeyType.Enum) as string : ReadOneOf(key, allowed, required, "value");

    private string? ReadOneOf(string key, IReadOnlyList<string> allowed, bool required, string valueName)
    {
        var text = ReadText(key, required);
        if (text is null)
        {
            return null;
        }

        var match = allowed.FirstOrDefault(a => string.Equals(a, text, StringComparison.OrdinalIgnoreCase));
        if (match is null)
        {
            Error(key, $"unknown {valueName} \"{Raw(key)}\": expected one of {string.Join(", ", allowed)}");
        }

        return match;
    }

    /// <summary>A list of strings; a single scalar counts as a list of one.</summary>
    public IReadOnlyList<(string Value, Mark At)> StringList(string key) =>
        Declared(key) is { } spec
            ? Taken(key, spec, requiredHere: false, KeyType.TextList) as IReadOnlyList<(string Value, Mark At)> ?? []
            : ReadStringList(key);

    private List<(string Value, Mark At)> ReadStringList(string key)
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
    public int? WholeNumber(string key, int min, int max) =>
        Declared(key) is not null ? WholeNumber(key) : ReadWholeNumber(key, min, max, required: false);

    /// <summary>A declared <see cref="KeyType.WholeNumber"/> key, within its declaration's range.</summary>
    public int? WholeNumber(string key) =>
        Declared(key) is { } spec ? Taken(key, spec, requiredHere: false, KeyType.WholeNumber) as int? : throw new InvalidOperationException($"{PathOf(key)} is not declared");

    private int? ReadWholeNumber(string key, int min, int max, bool required)
    {
        var text = ReadText(key, required);
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
    public ConfigSection? Section(string key, bool required = false) =>
        Declared(key) is { } spec
            ? Taken(key, spec, required, KeyType.Mapping, KeyType.Map, KeyType.TextOrMapping, KeyType.BooleanOrMapping) as ConfigSection
            : ReadSection(key, required);

    private ConfigSection? ReadSection(string key, bool required)
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
        if (!_checking)
        {
            _read.Add(key);
        }

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
    public IReadOnlyList<ConfigSection> SectionList(string key, string? idKey = "id") =>
        Declared(key) is { } spec
            ? Taken(key, spec, requiredHere: false, KeyType.MappingList) as IReadOnlyList<ConfigSection> ?? []
            : ReadSectionList(key, idKey);

    private List<ConfigSection> ReadSectionList(string key, string? idKey)
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
    /// Reports every key of this mapping that is neither declared (here or in <paramref name="declared"/>) nor asked
    /// for by a reader, listing those as the known keys.
    /// </summary>
    public void RejectUnknownKeys(IEnumerable<KeySpec> declared) => Reject(declared.SelectMany(k => k.Names));

    /// <summary>
    /// Reports every key of this mapping that is neither declared (<see cref="Declare"/>) nor asked for by a reader,
    /// listing those as the known keys. A declared mapping's known keys are its declarations whatever branch its
    /// reader took (tests bind every declared key and compare what was read).
    /// </summary>
    public void RejectUnknownKeys() => Reject([]);

    private void Reject(IEnumerable<string> alsoKnown)
    {
        HashSet<string>? known = null;
        foreach (var (k, _) in _node.Children)
        {
            var name = (k as YamlScalarNode)?.Value ?? "";
            if (_read.Contains(name) || _declared?.ContainsKey(name) == true)
            {
                continue;
            }

            // Built only when a key may be unknown: this runs for every mapping of every load.
            if (known is null)
            {
                known = new HashSet<string>(_read, StringComparer.Ordinal);
                known.UnionWith(alsoKnown);
                known.UnionWith(_declared?.Keys ?? Enumerable.Empty<string>());
            }

            if (!known.Contains(name))
            {
                var list = string.Join(", ", known.Order(StringComparer.Ordinal));
                Context.Error(k.Start, $"{PathOf(name)}: unknown key \"{name}\" (known keys here: {list})");
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
