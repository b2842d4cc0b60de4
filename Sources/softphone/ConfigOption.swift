import ArgumentParser

/// `--config FILE`, read before the command line is parsed (`ConfigFile`); declared here for `--help`
/// and so that the parser accepts it.
struct ConfigOption: ParsableArguments {
    @Option(help: ArgumentHelp(
        "JSON file of flags: each key is a flag of this command without its dashes, e.g. {\"codec\": [\"opus\", \"pcmu\"], \"listen\": \"[::]:5060\", \"json\": true}.",
        discussion: "Flags given on the command line override the file; an unknown key is an error naming it.",
        valueName: "file"))
    var config: String?
}
