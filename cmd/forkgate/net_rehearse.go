package main

import "github.com/spf13/cobra"

func newNetRehearseCmd() *cobra.Command {
	return &cobra.Command{Use: "rehearse", Short: "Rehearse a rolling upgrade on a real network (see docs/node.md)", Hidden: true}
}
