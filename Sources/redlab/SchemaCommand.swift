import ArgumentParser
import Topology

struct SchemaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema",
        abstract: "Print the JSON Schema (draft 2020-12) of topology, scenario or matrix files.",
        discussion: """
            The schemas are made from the tables the loaders check keys against, and ship under schemas/.
            Editors with a YAML language server complete and check a file that starts with
              # yaml-language-server: $schema=../schemas/topology.schema.json
            """)

    @Argument(help: "topology, scenario or matrix.") var kind: FileSchema.Kind

    func run() throws {
        print(FileSchema.json(for: kind), terminator: "")
    }
}

extension FileSchema.Kind: ExpressibleByArgument {}
