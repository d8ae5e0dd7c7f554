using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Roadmap.Core.Config;

/// <summary>
/// Checks, from the parser's events alone, the shapes of YAML that YamlDotNet's representation model cannot survive,
/// before it builds one. It builds nested nodes by recursion, so deep nesting (10,000 <c>[</c>) overflows the stack
/// and kills the process; and it hashes mapping keys, so a list or mapping used as a key that contains itself
/// through an alias (<c>? &amp;a [*a]</c>) recurses forever. A config needs neither: it nests a few levels and its keys
/// are plain names. It also bounds the work of reading the document: the representation model shares an aliased
/// node rather than copying it, but validation walks it once per alias, so 1,000 initiatives that each name one
/// list of 1,000 KPIs through an alias (8 KB) are validated as a million KPIs, and each error is reported a
/// thousand times. Each alias therefore counts as every node it names, and the
/// document so counted may hold at most <see cref="MaxNodes"/>.
/// </summary>
internal static class YamlShape
{
    /// <summary>
    /// The deepest nesting of lists and mappings accepted. A roadmap config needs 6; YamlDotNet's loader overflows
    /// a 1 MiB stack near 3,000.
    /// </summary>
    public const int MaxDepth = 64;

    /// <summary>
    /// The most nodes (scalars, lists and mappings) a document may hold, each alias counting as every node it names:
    /// 250,000. The load benchmark's config of 2,000 sources and 1,000 KPIs holds about 35,000; loading and
    /// validating 250,000 nodes takes about 100 MB.
    /// </summary>
    public const long MaxNodes = 250_000;

    /// <summary>The first problem found, with where it is; null when the stream has none. Syntax errors throw <see cref="YamlException"/>.</summary>
    public static (Mark At, string Message)? Problem(string yaml)
    {
        var parser = new Parser(new StringReader(yaml));
        var open = new Stack<Frame>();
        // The node an anchor names now (a later anchor of the same name replaces it); null for a scalar.
        var anchors = new Dictionary<string, Frame?>(StringComparer.Ordinal);
        // Nodes so far with every alias expanded.
        var nodes = 0L;
        while (parser.MoveNext())
        {
            var ev = parser.Current!;
            var parent = open.Count > 0 ? open.Peek() : null;
            var isKey = false;
            if (ev is NodeEvent or AnchorAlias && parent is { IsMapping: true })
            {
                isKey = parent.NextIsKey;
                parent.NextIsKey = !parent.NextIsKey;
                if (isKey)
                {
                    // YamlDotNet's parser lets text glued to a quoted value ("x"*b) through as the next key, on the
                    // same line; a block mapping's keys each start a line.
                    if (parent.IsBlock && parent.LastValueLine == ev.Start.Line)
                    {
                        return (ev.Start, "unexpected text after the value on this line");
                    }

                    parent.LastKey = ev.Start;
                }
                else
                {
                    parent.LastValueLine = ev.Start.Line;
                }
            }

            // YAML names a node before an alias uses it. YamlDotNet's loader also resolves an alias to an anchor further
            // down, which this count cannot size: a fuzzed config that moved its anchors below their aliases expanded
            // to four million nodes, past the cap unseen (12 s).
            if (ev is AnchorAlias unknown && !anchors.ContainsKey(unknown.Value.Value))
            {
                return (unknown.Start, $"the alias *{unknown.Value.Value} comes before any anchor &{unknown.Value.Value}: an anchor must be defined before it is used");
            }

            // Every node counts once in the document and once in each open list or mapping that holds it.
            var added = ev switch
            {
                AnchorAlias a => anchors.TryGetValue(a.Value.Value, out var named) ? named?.Size ?? 1 : 0,
                Scalar or SequenceStart or MappingStart => 1,
                _ => 0,
            };
            if (added > 0)
            {
                nodes += added;
                if (nodes > MaxNodes)
                {
                    var through = ev is AnchorAlias bomb ? $" (the alias *{bomb.Value.Value} names {added:N0} nodes)" : "";
                    return (ev.Start, $"the document holds more than {MaxNodes:N0} nodes, each alias counting as every node it names{through}");
                }

                foreach (var frame in open)
                {
                    frame.Size += added;
                }
            }

            switch (ev)
            {
                case Scalar scalar:
                    if (!scalar.Anchor.IsEmpty)
                    {
                        anchors[scalar.Anchor.Value] = null;
                    }

                    break;
                case AnchorAlias alias:
                    if (anchors.TryGetValue(alias.Value.Value, out var target) && target is not null)
                    {
                        if (target.IsOpen)
                        {
                            return (alias.Start, $"the alias *{alias.Value.Value} is inside the node it names (&{alias.Value.Value}): a cycle");
                        }

                        if (isKey)
                        {
                            return (alias.Start, $"a mapping key must be a plain value, not a {(target.IsMapping ? "mapping" : "list")} (the alias *{alias.Value.Value})");
                        }
                    }

                    break;
                case NodeEvent start and (SequenceStart or MappingStart):
                    var isMapping = start is MappingStart;
                    if (isKey)
                    {
                        return (start.Start, $"a mapping key must be a plain value, not a {(isMapping ? "mapping" : "list")}");
                    }

                    if (open.Count >= MaxDepth)
                    {
                        return (start.Start, $"lists and mappings are nested more than {MaxDepth} deep");
                    }

                    var opened = new Frame(isMapping) { IsBlock = start is MappingStart { Style: MappingStyle.Block } };
                    open.Push(opened);
                    if (!start.Anchor.IsEmpty)
                    {
                        anchors[start.Anchor.Value] = opened;
                    }

                    break;
                case SequenceEnd or MappingEnd:
                    var closed = open.Pop();
                    closed.IsOpen = false;
                    // Whatever else leaves a key without a value: YamlDotNet's loader would throw an ArgumentException.
                    if (closed.IsMapping && !closed.NextIsKey)
                    {
                        return (closed.LastKey, "a key without a value: is there text right after a quoted value on this line or the one before?");
                    }

                    break;
                case DocumentEnd:
                    // Anchors do not cross documents.
                    anchors.Clear();
                    break;
            }
        }

        return null;
    }

    private sealed class Frame(bool isMapping)
    {
        public bool IsMapping { get; } = isMapping;

        public bool NextIsKey { get; set; } = true;

        public bool IsOpen { get; set; } = true;

        public Mark LastKey { get; set; } = Mark.Empty;

        public bool IsBlock { get; init; }

        public long LastValueLine { get; set; } = -1;

        /// <summary>This node and everything in it, each alias counting as every node it names.</summary>
        public long Size { get; set; } = 1;
    }
}
