"""packer/client"""
